#!/bin/sh
# http: python3 -m http.server on 127.0.0.1 serving LAB_HTTP_FILES generated small files, and one
# curl process fetching every file (HTTP/1.0: one TCP connection per file). The timed run covers
# the server start, the fetches and the server stop (server and client are both children).
APP=http; . "$(dirname "$0")/common.sh"
PORT=${LAB_HTTP_PORT:-18080}
case "$1" in
    prepare)
        rm -rf "$W"; mkdir -p "$W"
        ls "$INPUTS/http" | grep '^f' | sort | awk -v p="$PORT" '{ printf "url = \"http://127.0.0.1:%s/%s\"\noutput = \"/dev/null\"\n", p, $1 }' > "$W/urls.cfg" ;;
    run)
        python3 -m http.server --bind 127.0.0.1 --directory "$INPUTS/http" "$PORT" > "$W/server.log" 2>&1 &
        server=$!
        i=0
        until curl -s -f -o /dev/null "http://127.0.0.1:$PORT/ready.txt"; do
            i=$((i + 1))
            if [ $i -gt 1200 ]; then echo "server did not start" >&2; kill $server; exit 1; fi
            sleep 0.1
        done
        set +e
        curl -s -f -K "$W/urls.cfg"
        rc=$?
        kill $server
        wait $server
        echo "fetched $(grep -c '^url' "$W/urls.cfg") files, curl rc=$rc"
        exit $rc ;;
    cleanup) rm -rf "$W" ;;
esac
