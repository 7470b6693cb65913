#!/usr/bin/env bash
# Install, then run the test suite. Exit status is pytest's (5 = no tests ran, a failure too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
