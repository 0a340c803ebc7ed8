#!/bin/sh
# Simulated `ps -eo pid=,stat=,user:32=,etimes=,rss=,args=`: the simulated host's processes
# (sim/processes, written by the fleet builder: nlserver modules, mtachild workers, any zombies).
SIM=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$SIM/processes" ] && cat "$SIM/processes"
exit 0
