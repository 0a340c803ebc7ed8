#!/bin/sh
# Simulated `ps -eo pid=,etimes=,rss=,comm=` for the simulated nlserver processes.
SIM=$(cd "$(dirname "$0")/.." && pwd)
[ -s "$SIM/state" ] || exit 0
while read -r name pid mem etimes; do
  rss=$(awk -v m="$mem" 'BEGIN { printf "%d", m * 1024 }')
  echo "$pid $etimes $rss nlserver"
done < "$SIM/state"
