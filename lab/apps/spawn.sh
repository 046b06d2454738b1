#!/bin/sh
# spawn: a shell loop that forks and execs /bin/true LAB_SPAWN_N times (fork/exec/exit/wait).
APP=spawn; . "$(dirname "$0")/common.sh"
case "$1" in
    prepare) rm -rf "$W"; mkdir -p "$W" ;;
    run)
        i=0
        while [ $i -lt "$LAB_SPAWN_N" ]; do
            /bin/true
            i=$((i + 1))
        done
        echo "spawned $i processes" ;;
    cleanup) rm -rf "$W" ;;
esac
