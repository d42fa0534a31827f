#!/usr/bin/env bash
# stuck_page.sh PORT CMD...: runs CMD (a gdask run with
# --dashboard=127.0.0.1:PORT) with a page connected to its dashboard that
# never reads what it is sent: the frames pile up in the socket until the
# server's writes block. Exits with CMD's status.
set -uo pipefail
port=$1
shift
"$@" &
pid=$!
for ((i = 0; i < 500; i++)); do # up to 5 s for the server to listen
  if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
    printf 'GET /events HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n' "$port" >&3
    break
  fi 2>/dev/null
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
wait "$pid"
