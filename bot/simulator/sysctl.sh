#!/bin/sh
# Simulated `sysctl -n fs.file-nr` (sim/system: `files <allocated> <free> <max>`); nothing else.
SIM=$(cd "$(dirname "$0")/.." && pwd)
if [ "$1" = -n ] && [ "$2" = fs.file-nr ]; then
  awk '$1 == "files" { printf "%s\t%s\t%s\n", $2, $3, $4 }' "$SIM/system"; exit 0
fi
echo "sysctl: simulated host: only -n fs.file-nr" >&2; exit 1
