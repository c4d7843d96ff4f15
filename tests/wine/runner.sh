#!/usr/bin/env bash
# Runs a Windows executable under Wine for `cargo test --target x86_64-pc-windows-gnu`
# (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER). Keeps one Wine prefix for the test run and puts
# the test-only stand-in for bcryptprimitives.dll into it, built from the C file beside this
# script. Nothing here is shipped with cutover.exe.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export WINEPREFIX="${WINEPREFIX:-${TMPDIR:-/tmp}/cutover-wine}"
export WINEDEBUG="${WINEDEBUG:--all}"
wine="$(command -v wine64 || true)"
[ -n "$wine" ] || wine=/usr/lib/wine/wine64
dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$dll" ]; then
    "$wine" wineboot --init >/dev/null 2>&1 || true
    "${WINEGCC:-x86_64-w64-mingw32-gcc}" -shared -O2 -o "$dll.partial" "$here/bcryptprimitives.c" -ladvapi32
    mv "$dll.partial" "$dll"
fi
# The Windows test process must start cutover.exe itself, not through this script again.
unset CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER
exec "$wine" "$@"
