#!/bin/sh
# Simulated clock: the real `date`, shifted by sim/clock_offset seconds (a host whose clock is off).
SIM=$(cd "$(dirname "$0")/.." && pwd)
real=/bin/date; [ -x /usr/bin/date ] && real=/usr/bin/date
off=$(cat "$SIM/clock_offset" 2>/dev/null || echo 0)
case "$off" in ""|0|0.0) exec "$real" "$@" ;; esac
t=$(awk -v n="$("$real" +%s.%N)" -v o="$off" 'BEGIN { printf "%.9f", n + o }')
exec "$real" -d "@$t" "$@"
