#!/bin/sh
# pagefault: lab/src/pagefault.c touches every 4 KiB page of a LAB_PAGEFAULT_MIB MiB anonymous
# mapping, LAB_PAGEFAULT_PASSES times (minor page faults + page zeroing; THP disabled).
APP=pagefault; . "$(dirname "$0")/common.sh"
case "$1" in
    prepare) rm -rf "$W"; mkdir -p "$W" ;;
    run) "$LAB_ROOT/bin/pagefault" "$LAB_PAGEFAULT_MIB" "$LAB_PAGEFAULT_PASSES" ;;
    cleanup) rm -rf "$W" ;;
esac
