#!/bin/sh
# setup.sh - install what a fresh Debian 12 lacks, then build into build/.
#
#   scripts/setup.sh            install (if needed) and build, Release
#   BUILD_DIR=dir scripts/setup.sh
#
# Idempotent: packages already installed are not touched, and the build is
# incremental. Needs root (or sudo) only when a package is missing.
# Extra CMake options can be passed in CMAKE_ARGS.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-"$top/build"}

# Build and run-time needs, then what the tests drive the proxy with
# (chromium: the headless browser of tests/integration/test_browser_*.py
# and test_console_browser.py;
# strace: the failing disk writes of tests/integration/test_store_faults.py;
# nftables: the redirects of tests/integration/test_intercept.py;
# python3-prometheus-client: the /metrics parser of test_metrics.py;
# systemd, dpkg-dev, man-db: systemd-analyze verify, dpkg-shlibdeps and
# man -w of test_install.py; tinyproxy: the parent proxy of
# test_upstream_proxy.py; logrotate: scripts/dist/hstsproxy.logrotate run
# by test_access_log.py).
packages="build-essential cmake pkg-config libuv1-dev libssl-dev
libsqlite3-dev libpsl-dev libidn2-dev libcrypt-dev ca-certificates curl
openssl python3 iproute2 util-linux chromium strace nftables
python3-prometheus-client systemd dpkg-dev man-db tinyproxy logrotate"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'
  then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "setup: installing:$missing"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends $missing
fi

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
