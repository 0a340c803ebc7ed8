#!/bin/sh
# Simulated `ipcs -m`: the simulated host's shared-memory segments (sim/system: `shm <owner>`).
SIM=$(cd "$(dirname "$0")/.." && pwd)
echo
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch     status"
awk '$1 == "shm" { n++; printf "0x%08x %-10d %-10s 600        4194304    2\n", 1000 + n, 32768 + n, $2 }' "$SIM/system"
echo
