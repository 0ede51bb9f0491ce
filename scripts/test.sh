#!/usr/bin/env bash
# The whole test suite, with every system tool it needs. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# exiftool is a real third-party reader our files are checked against; Debian's chromium and
# chromedriver run the web page's browser test (selenium never downloads a browser or driver).
missing=()
command -v exiftool >/dev/null 2>&1 || missing+=(libimage-exiftool-perl)
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  missing+=(chromium chromium-driver)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# PostgreSQL serves the catalog tests (they create and drop their own databases).
# With a cluster on the machine its tests must run: unreachable, they fail instead of skipping.
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start \
    >/dev/null 2>&1 || true  # already running is an error to pg_ctlcluster
  export AIGC_PROV_TEST_REQUIRE_POSTGRES=1
fi

bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/python -m pytest "$@"
