#!/bin/sh
# Simulated `nproc`: the simulated host's CPU count (sim/system: `cpus <n>`).
SIM=$(cd "$(dirname "$0")/.." && pwd)
awk '$1 == "cpus" { print $2 }' "$SIM/system"
