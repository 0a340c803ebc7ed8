#!/bin/sh
# Simulated `uptime`: the simulated host's load averages (sim/system: `load <1> <5> <15>`).
SIM=$(cd "$(dirname "$0")/.." && pwd)
set -- $(awk '$1 == "load" { print $2, $3, $4 }' "$SIM/system")
echo " $(date +%H:%M:%S) up 12 days,  3:04,  1 user,  load average: ${1:-0.00}, ${2:-0.00}, ${3:-0.00}"
