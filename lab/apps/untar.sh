#!/bin/sh
# untar: LAB_UNTAR_ROUNDS times: extract a generated source-like tree, stat every entry (find -ls,
# du), remove it (file metadata: create, stat, unlink; small writes into the page cache).
APP=untar; . "$(dirname "$0")/common.sh"
case "$1" in
    prepare) rm -rf "$W"; mkdir -p "$W"; cat "$INPUTS/untar.tar" > /dev/null ;;
    run)
        cd "$W"
        r=0
        while [ $r -lt "$LAB_UNTAR_ROUNDS" ]; do
            tar xf "$INPUTS/untar.tar"
            find tree -ls > /dev/null
            du -s tree
            rm -rf tree
            r=$((r + 1))
        done ;;
    cleanup) rm -rf "$W" ;;
esac
