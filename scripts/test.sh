#!/usr/bin/env bash
# Install dtsen with its test tools and run the whole suite: lint, types, then every test on SQLite and on
# PostgreSQL (browser tests in Debian's chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
if [ ! -x /usr/bin/chromium ]; then
  echo "==> Debian chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
export DTSEN_DATA_DIR="${DTSEN_DATA_DIR:-$PWD/var/test}"
echo "==> ruff";  .venv/bin/ruff check src tests bench
echo "==> mypy";  .venv/bin/mypy
echo "==> tests on SQLite"
env -u DATABASE_URL .venv/bin/pytest -n 2 "$@"
echo "==> tests on PostgreSQL"
DATABASE_URL="postgres://postgres@127.0.0.1:5432/dtsen" .venv/bin/pytest -n 2 "$@"
