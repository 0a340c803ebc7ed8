#!/bin/sh
# Simulated `curl` for the simulated hosts: answers from sim/http/, one file per URL, named after the
# URL with every character other than letters and digits as '_' (scheme_host_port_path):
#   line 1: an HTTP status (then the body; for 3xx, line 2 is the Location), or `tls <message>`
#   (a TLS failure, exit 60), or `timeout` (exit 28). No file: connection refused (exit 7).
# It honours -L and --max-redirs (exit 47 past the limit) and -w with %{http_code},
# %{num_redirects} and %{url_effective}, as the probe uses them; like curl it writes the -w text on
# errors too, with status 000. Nothing here goes to the network.
SIM=$(cd "$(dirname "$0")/.." && pwd)
follow=0; max=50; wfmt=""; url=""
while [ $# -gt 0 ]; do
  case "$1" in
    -L|--location) follow=1 ;;
    --max-redirs) max=$2; shift ;;
    -w|--write-out) wfmt=$2; shift ;;
    -m|--max-time|--connect-timeout|--proto|--proto-redir|--max-filesize|-o) shift ;;
    -*) ;;
    *) url=$1 ;;
  esac
  shift
done
key() {
  scheme=${1%%://*}; rest=${1#*://}; hostport=${rest%%/*}; path=/${rest#*/}
  [ "$rest" = "$hostport" ] && path=/
  case "$hostport" in
    *:*) port=${hostport##*:}; host=${hostport%:*} ;;
    *) host=$hostport; if [ "$scheme" = https ]; then port=443; else port=80; fi ;;
  esac
  printf '%s' "${scheme}_${host}_${port}${path}" | tr -c 'A-Za-z0-9' '_'
}
trailer() {
  [ -n "$wfmt" ] || return 0
  # -w's text keeps `\n` as two characters (the probe quotes it); like curl, turn it into a newline.
  printf '%b' "$(printf '%s' "$wfmt" | sed -e "s|%{http_code}|$1|g" -e "s|%{num_redirects}|$2|g" -e "s|%{url_effective}|$3|g")"
}
n=0
while :; do
  f="$SIM/http/$(key "$url")"
  if [ ! -f "$f" ]; then
    hp=${url#*://}; hp=${hp%%/*}
    echo "curl: (7) Failed to connect to ${hp%%:*} port ${hp##*:} after 0 ms: Couldn't connect to server" >&2
    trailer 000 "$n" "$url"; exit 7
  fi
  first=$(head -n 1 "$f")
  case "$first" in
    tls*) echo "curl: (60) SSL certificate problem: ${first#tls }" >&2; trailer 000 "$n" "$url"; exit 60 ;;
    timeout) echo "curl: (28) Operation timed out after 5000 milliseconds with 0 bytes received" >&2
             trailer 000 "$n" "$url"; exit 28 ;;
    3[0-9][0-9])
      if [ "$follow" = 1 ]; then
        if [ "$n" -ge "$max" ]; then
          echo "curl: (47) Maximum ($max) redirects followed" >&2; trailer "$first" "$n" "$url"; exit 47
        fi
        n=$((n + 1)); url=$(sed -n 2p "$f"); continue
      fi
      trailer "$first" "$n" "$url"; exit 0 ;;
    *) tail -n +2 "$f"; trailer "$first" "$n" "$url"; exit 0 ;;
  esac
done
