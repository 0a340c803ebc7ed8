#!/bin/sh
# Simulated `readlink` for /proc/<pid>/exe and /proc/<pid>/cwd of the simulated processes: the
# binary and working folder they run from (sim/proc_home: the install root, or another one).
# Anything else goes to the real readlink.
SIM=$(cd "$(dirname "$0")/.." && pwd)
case "$1" in
  /proc/*/exe|/proc/*/cwd)
    pid=${1#/proc/}; pid=${pid%%/*}
    if grep -q "^ *$pid " "$SIM/processes" 2>/dev/null; then
      home=$(cat "$SIM/proc_home")
      case "$1" in */exe) echo "$home/bin/nlserver" ;; *) echo "$home" ;; esac
      exit 0
    fi ;;
esac
for d in /usr/bin /bin; do [ -x "$d/readlink" ] && exec "$d/readlink" "$@"; done
exit 1
