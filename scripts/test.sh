#!/usr/bin/env bash
# Install, then run the test suite. Exit status is pytest's (5 = no tests ran, a failure too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
exec .venv/bin/python -m pytest -q "$@"
