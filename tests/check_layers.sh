#!/usr/bin/env bash
# Includes point down the layers, never up (README "How the code is laid out"): every
# `#include "../AREA/…"` or `"bilin/AREA/…"` in include/bilin/AREA2/*.hpp must name an area of
# the same or a lower rank. Ranks: core 0; kernels, io, data 1; autograd 2; ops 3; nn, optim,
# linalg 4; train, interp 5 (the house rules' table). A header that needs a piece from a
# higher layer means the piece lives in the wrong place: move it down instead. The module
# headers at include/bilin/ (core.hpp, bilin.hpp, …) gather areas and are not ranked. Exits 1
# listing every upward include with its line number; an area missing from the table is an
# error too, so a new directory gets a rank before it gets code.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rank() {
  case "$1" in
    core) echo 0 ;; kernels|io|data) echo 1 ;; autograd) echo 2 ;; ops) echo 3 ;;
    nn|optim|linalg) echo 4 ;; train|interp) echo 5 ;; *) echo -1 ;;
  esac
}
bad=0 n=0
cd "$root/include/bilin"
for f in */*.hpp; do
  from=${f%%/*}
  rf=$(rank "$from")
  if [ "$rf" -lt 0 ]; then
    echo "check_layers: include/bilin/$from/ has no rank in tests/check_layers.sh" >&2; bad=1; continue
  fi
  while IFS=: read -r line to; do
    n=$((n + 1))
    rt=$(rank "$to")
    if [ "$rt" -lt 0 ] || [ "$rt" -gt "$rf" ]; then
      echo "check_layers: include/bilin/$f:$line includes $to/ (rank $rt) from $from/ (rank $rf): an upward include" >&2
      bad=1
    fi
  done < <(grep -nE '^\s*#\s*include\s+["<](\.\./|bilin/)[a-z_]+/' "$f" |
           sed -E 's#^([0-9]+):[^"<]*["<](\.\./|bilin/)([a-z_]+)/.*#\1:\3#')
done
[ "$bad" -eq 0 ] || exit 1
echo "check_layers: $n cross-area includes, all pointing down or sideways"
