#!/bin/sh
# xz: single-threaded xz -6 compression of a fixed generated file (CPU, some memory).
APP=xz; . "$(dirname "$0")/common.sh"
case "$1" in
    prepare) rm -rf "$W"; mkdir -p "$W"; cat "$INPUTS/xz-input.bin" > /dev/null ;;
    run) xz -T1 -6 -c "$INPUTS/xz-input.bin" > "$W/out.xz"; ls -l "$W/out.xz" ;;
    cleanup) rm -rf "$W" ;;
esac
