#!/usr/bin/env bash
# The README's first command: install dependencies (Debian 12), build, prepare the data,
# train the default model and write the analysis report and the interactive explorer page.
#   bash examples/quickstart.sh             everything
#   bash examples/quickstart.sh --deps-only only the apt packages
#   bash examples/quickstart.sh --install PKG...  only these apt packages (for other scripts)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Library + tests + examples, and the peers used by bench/ comparisons.
packages=(cmake g++ make pkg-config libxsimd-dev xtl-dev catch2 libstb-dev libbenchmark-dev zlib1g-dev
          dataset-fashion-mnist libopenblas-dev libeigen3-dev libspectra-dev liblapacke-dev
          python3-numpy python3-torch chromium chromium-driver python3-selenium
          openmpi-bin libopenmpi-dev)  # MPI: data-parallel training (optional at build time)
[ "${1:-}" = "--install" ] && packages=("${@:2}")
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "quickstart: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
[ "${1:-}" = "--deps-only" ] || [ "${1:-}" = "--install" ] && exit 0

cmake -S . -B build/release
cmake --build build/release -j 2
out="$root/build/release/quickstart"
mkdir -p "$out"
if [ -x build/release/examples/train_mnist ] && [ -x build/release/examples/analyze_mnist ]; then
  bash data_scripts/fetch_mnist --dest build/release/data/mnist
  build/release/examples/train_mnist --dataset mnist --out "$out/mnist"
  build/release/examples/analyze_mnist --ckpt "$out/mnist/model.safetensors" --out "$out/mnist/report" --explorer
  echo "quickstart: open $out/mnist/report/report.html and $out/mnist/report/explorer.html"
else
  build/release/examples/toy_tasks --out "$out/toy"
fi
