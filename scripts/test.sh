#!/bin/sh
# test.sh - the whole test suite on a fresh Debian 12 machine:
# set-up (packages, build with -Werror), then every test through ctest.
#
#   scripts/test.sh [ctest arguments...]     e.g. scripts/test.sh -R unit
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-"$top/build"}

CMAKE_ARGS="-DHSTSPROXY_WERROR=ON ${CMAKE_ARGS:-}" "$top/scripts/setup.sh"
cd "$build"
exec ctest --output-on-failure -j "$(nproc)" "$@"
