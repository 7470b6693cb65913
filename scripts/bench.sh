#!/usr/bin/env bash
# Install, then run the root benchmarking job with the embedded runner (leaderboard + plots).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/jointbench run benchmarkingjob.yaml "$@"
