#!/bin/sh
# Simulated `curl -sS -m 5 -o - -w '\n@@HTTP %{http_code}@@\n' URL` against the simulated host's
# web server: sim/http/<port>_<path with / and . as _> holds the status code on line 1, then the body.
SIM=$(cd "$(dirname "$0")/.." && pwd)
for a in "$@"; do url="$a"; done
scheme=${url%%://*}
rest=${url#*://}
hostport=${rest%%/*}
path=/${rest#*/}
case "$hostport" in
  *:*) port=${hostport##*:} ;;
  *) if [ "$scheme" = https ]; then port=443; else port=80; fi ;;
esac
key=$(echo "${port}${path}" | tr '/.' '__')
f="$SIM/http/$key"
if [ ! -f "$f" ]; then
  echo "curl: (7) Failed to connect to ${hostport%%:*} port $port: Connection refused" >&2
  printf '\n@@HTTP 000@@\n'
  exit 7
fi
code=$(head -n 1 "$f")
tail -n +2 "$f"
printf '\n@@HTTP %s@@\n' "$code"
