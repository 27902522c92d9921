#!/usr/bin/env bash
# Install dtsen into .venv and run the main job: regions, a synthetic demo kabupaten, the web app.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
exec .venv/bin/dtsen demo "$@"
