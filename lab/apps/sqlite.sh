#!/bin/sh
# sqlite: LAB_SQLITE_ROWS single-row INSERTs into an on-disk sqlite3 database, each its own
# transaction (autocommit, rollback journal, synchronous=FULL): fsync-bound small writes.
APP=sqlite; . "$(dirname "$0")/common.sh"
case "$1" in
    prepare)
        rm -rf "$W"; mkdir -p "$W"
        sqlite3 "$W/lab.db" 'CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);'
        awk -v n="$LAB_SQLITE_ROWS" 'BEGIN { for (i = 1; i <= n; i++)
            printf "INSERT INTO t(k, v) VALUES(%d, %clab-row-%06d-abcdefghijklmnopqrstuvwxyz%c);\n", (i * 7919) % 10007, 39, i, 39 }' > "$W/inserts.sql" ;;
    run)
        sqlite3 "$W/lab.db" < "$W/inserts.sql"
        sqlite3 "$W/lab.db" 'SELECT count(*) FROM t;' ;;
    cleanup) rm -rf "$W" ;;
esac
