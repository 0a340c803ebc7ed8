#!/bin/sh
# Simulated `free -k`: the simulated host's memory and swap (sim/system: `swap <total kB> <free kB>`).
SIM=$(cd "$(dirname "$0")/.." && pwd)
set -- $(awk '$1 == "swap" { print $2, $3 }' "$SIM/system")
echo "               total        used        free      shared  buff/cache   available"
echo "Mem:        16318216     5030012     1263372      373148    10024832    10589172"
printf 'Swap:   %12s %11s %11s\n' "${1:-0}" "$(( ${1:-0} - ${2:-0} ))" "${2:-0}"
