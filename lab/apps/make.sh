#!/bin/sh
# make: build part of lmbench's own sources with make + gcc -O, one job at a time
# (fork/exec of cc1/as/ld, many small files, CPU).
APP=make; . "$(dirname "$0")/common.sh"
SRC="$W/lmbench/src"
case "$1" in
    prepare)
        rm -rf "$W"; mkdir -p "$W/lmbench"
        tar xzf "$INPUTS/lmbench-src.tar.gz" -C "$W/lmbench" --strip-components=1
        mkdir -p "$W/lmbench/bin/lab" ;;
    run)
        targets=""
        for t in $LAB_MAKE_TARGETS; do targets="$targets ../bin/lab/$t"; done
        cd "$SRC"
        make -j1 OS=lab CC=gcc O=../bin/lab \
            CFLAGS="-O -DRUSAGE -DHAVE_uint=1 -DHAVE_int64_t=1 -DHAVE_DRAND48 -DHAVE_SCHED_SETAFFINITY=1 -I/usr/include/tirpc" \
            LDLIBS="-lm -ltirpc" $targets
        ls ../bin/lab | wc -l ;;
    cleanup) rm -rf "$W" ;;
esac
