# data_scripts/_lib.sh — shared helpers for fetch_mnist, fetch_fmnist and verify (sourced, not run).
#
# Knows the four IDX files of each data set, their SHA-256 sums (from ../shared/data/README.md),
# how to verify a file (.gz sum, else the sum of its decompressed content, so a re-gzipped copy
# with a different gzip header still passes), and how to place verified files into a folder.

set -euo pipefail

BILIN_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BILIN_CHECKOUT="$(dirname "$BILIN_SCRIPT_DIR")"
BILIN_SHARED_DATA="$(cd "$BILIN_CHECKOUT/.." && pwd)/shared/data"

IDX_STEMS=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# known_sums DATASET STEM -> "gz_sum content_sum" (gz_sum: the reference .gz file)
known_sums() {
  case "$1:$2" in
    mnist:train-images-idx3-ubyte) echo "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db" ;;
    mnist:train-labels-idx1-ubyte) echo "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5" ;;
    mnist:t10k-images-idx3-ubyte)  echo "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7" ;;
    mnist:t10k-labels-idx1-ubyte)  echo "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2" ;;
    # Fashion-MNIST: .gz sums are Debian's (dataset-fashion-mnist rewrote the gzip headers);
    # upstream's .gz files differ in the header only and pass through the content sums.
    fmnist:train-images-idx3-ubyte) echo "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7 c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888" ;;
    fmnist:train-labels-idx1-ubyte) echo "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056 bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9" ;;
    fmnist:t10k-images-idx3-ubyte)  echo "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa 5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b" ;;
    fmnist:t10k-labels-idx1-ubyte)  echo "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34" ;;
    *) echo "internal error: no sums for $1:$2" >&2; return 1 ;;
  esac
}

# Folder names a data set may live under (first one is where fetch puts it).
dataset_dirnames() {
  case "$1" in
    mnist) echo "mnist" ;;
    fmnist) echo "fmnist fashion-mnist" ;;
  esac
}

say() { printf '%s\n' "$*" >&2; }

# idx_file DIR STEM -> path of DIR/STEM.gz or DIR/STEM, or nothing.
idx_file() {
  if [ -f "$1/$2.gz" ]; then echo "$1/$2.gz"
  elif [ -f "$1/$2" ]; then echo "$1/$2"
  fi
}

# verify_file DATASET STEM PATH -> 0 when the file is the known data; prints a one-line verdict.
verify_file() {
  local ds="$1" stem="$2" path="$3" sums gz_sum content_sum got content
  sums="$(known_sums "$ds" "$stem")"
  gz_sum="${sums%% *}"
  content_sum="${sums##* }"
  if [[ "$path" == *.gz ]]; then
    got="$(sha256sum < "$path" | cut -d' ' -f1)"
    if [ "$got" = "$gz_sum" ]; then
      echo "ok       $path (sha256 of the .gz file)"
      return 0
    fi
    if ! content="$(gzip -dc < "$path" 2>/dev/null | sha256sum | cut -d' ' -f1)" || [ -z "$content" ]; then
      echo "BAD      $path: not a readable gzip file (damaged or truncated)"
      return 1
    fi
  else
    content="$(sha256sum < "$path" | cut -d' ' -f1)"
  fi
  if [ "$content" = "$content_sum" ]; then
    echo "ok       $path (sha256 of the decompressed content)"
    return 0
  fi
  local other hint=""
  for other in mnist fmnist; do
    [ "$other" = "$ds" ] && continue
    if [ "$content" = "$(known_sums "$other" "$stem" | cut -d' ' -f2)" ]; then
      hint=" (this is the $other file, not $ds)"
    fi
  done
  echo "BAD      $path: sha256 of the content is $content, expected $content_sum$hint"
  return 1
}

# verify_dir DATASET DIR -> 0 when all four files are present and verified.
verify_dir() {
  local ds="$1" dir="$2" stem f rc=0
  for stem in "${IDX_STEMS[@]}"; do
    f="$(idx_file "$dir" "$stem")"
    if [ -z "$f" ]; then
      echo "MISSING  $dir/$stem[.gz]"
      rc=1
      continue
    fi
    verify_file "$ds" "$stem" "$f" || rc=1
  done
  return $rc
}

# dir_has_all DIR -> 0 when all four files exist (not verified).
dir_has_all() {
  local stem
  for stem in "${IDX_STEMS[@]}"; do
    [ -n "$(idx_file "$1" "$stem")" ] || return 1
  done
}

abspath() { realpath -m -s -- "$1"; }

# place_from_dir DATASET SRC DEST MODE(link|copy) -> puts the four files of SRC into DEST.
place_from_dir() {
  local ds="$1" src="$2" dest="$3" mode="$4" stem f name tmp
  mkdir -p "$dest"
  for stem in "${IDX_STEMS[@]}"; do
    f="$(abspath "$(idx_file "$src" "$stem")")"
    name="$(basename "$f")"
    # Remove the other form so the loader cannot pick a stale file (it prefers .gz).
    rm -f "$dest/$stem" "$dest/$stem.gz"
    tmp="$dest/.$name.tmp.$$"
    if [ "$mode" = link ]; then
      ln -s "$f" "$tmp"
    else
      cp "$f" "$tmp"
    fi
    mv -f "$tmp" "$dest/$name"
  done
}

# download DATASET BASE_URL DEST -> downloads, verifies and installs the four .gz files.
download() {
  local ds="$1" base="$2" dest="$3" stem tmp fetch
  if command -v curl > /dev/null; then
    fetch=(curl -fsSL --connect-timeout 15 --retry 2 -o)
  elif command -v wget > /dev/null; then
    fetch=(wget -q --timeout=15 --tries=2 -O)
  else
    say "  neither curl nor wget is installed"
    return 1
  fi
  mkdir -p "$dest"
  local staged=()
  for stem in "${IDX_STEMS[@]}"; do
    tmp="$dest/.$stem.gz.download.$$"
    say "  downloading $base$stem.gz"
    if ! "${fetch[@]}" "$tmp" "$base$stem.gz"; then
      rm -f "$tmp" "${staged[@]}"
      say "  download failed (no internet access?)"
      return 1
    fi
    if ! verify_file "$ds" "$stem" "$tmp" > /dev/null; then
      say "  $(verify_file "$ds" "$stem" "$tmp" || true)"
      rm -f "$tmp" "${staged[@]}"
      return 1
    fi
    staged+=("$tmp")
  done
  for stem in "${IDX_STEMS[@]}"; do
    rm -f "$dest/$stem"
    mv -f "$dest/.$stem.gz.download.$$" "$dest/$stem.gz"
  done
}

# fetch_main DATASET DEFAULT_BASE_URL "$@" — the whole fetch_mnist / fetch_fmnist program.
fetch_main() {
  local ds="$1" url="$2"
  shift 2
  local from="" dest="" mode=link try_apt=0 allow_download=1 verb
  while [ $# -gt 0 ]; do
    case "$1" in
      --from) from="${2:?--from needs a folder}"; shift 2 ;;
      --dest) dest="${2:?--dest needs a folder}"; shift 2 ;;
      --copy) mode=copy; shift ;;
      --link) mode=link; shift ;;
      --apt) try_apt=1; shift ;;
      --no-download) allow_download=0; shift ;;
      -h|--help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        return 0 ;;
      *) say "unknown option: $1 (try --help)"; return 2 ;;
    esac
  done
  local names
  read -r -a names <<< "$(dataset_dirnames "$ds")"
  [ -n "$dest" ] || dest="data/${names[0]}"
  if [ "$mode" = link ]; then verb="symlinked"; else verb="copied"; fi

  if dir_has_all "$dest" && verify_dir "$ds" "$dest" > /dev/null 2>&1; then
    say "$ds: already in place and verified in $dest"
    return 0
  fi

  local candidates=()
  [ -n "$from" ] && candidates+=("$from")
  local n
  if [ -n "${BILIN_DATA:-}" ]; then
    for n in "${names[@]}"; do candidates+=("$BILIN_DATA/$n"); done
  fi
  for n in "${names[@]}"; do candidates+=("$BILIN_SHARED_DATA/$n"); done
  [ "$ds" = fmnist ] && candidates+=("/usr/share/datasets/fashion-mnist")

  local c report
  for c in "${candidates[@]}"; do
    if ! dir_has_all "$c"; then
      say "$ds: not in $c"
      continue
    fi
    if ! report="$(verify_dir "$ds" "$c")"; then
      say "$ds: $c has the files but they do not verify:"
      say "$(printf '%s\n' "$report" | grep -v '^ok' | sed 's/^/  /')"
      continue
    fi
    if [ "$(abspath "$c")" = "$(abspath "$dest")" ]; then
      say "$ds: verified in place in $dest"
      return 0
    fi
    place_from_dir "$ds" "$c" "$dest" "$mode"
    say "$ds: verified the files in $c and $verb them into $dest"
    verify_dir "$ds" "$dest" > /dev/null
    return 0
  done

  if [ "$ds" = fmnist ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
    if [ "$try_apt" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
      say "fmnist: trying apt-get install -y dataset-fashion-mnist"
      if apt-get install -y dataset-fashion-mnist >&2 && dir_has_all /usr/share/datasets/fashion-mnist &&
         verify_dir "$ds" /usr/share/datasets/fashion-mnist > /dev/null; then
        place_from_dir "$ds" /usr/share/datasets/fashion-mnist "$dest" "$mode"
        say "fmnist: installed the Debian package and $verb its files into $dest"
        return 0
      fi
    else
      say "fmnist: Debian ships it: apt-get install -y dataset-fashion-mnist   (or rerun with --apt as root)"
    fi
  fi

  if [ "$allow_download" = 1 ]; then
    say "$ds: trying the public download $url"
    if download "$ds" "$url" "$dest"; then
      say "$ds: downloaded and verified into $dest"
      return 0
    fi
  fi
  say "$ds: FAILED — no verified copy found. Give one with --from DIR, set BILIN_DATA to a folder"
  say "containing ${names[0]}/, or run on a machine with internet access."
  return 1
}
