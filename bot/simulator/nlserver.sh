#!/bin/sh
# Simulated Campaign `nlserver` for the built-in fleet and the SSH tests. It answers the read-only
# verbs from the host's simulation state and refuses every state-changing verb. Every call is
# appended to sim/invocations.log, so tests can prove which verbs the bot sent.
HOME_DIR=$(cd "$(dirname "$0")/.." && pwd)
SIM="$HOME_DIR/sim"
echo "$*" >> "$SIM/invocations.log"
MODE=$(cat "$SIM/mode" 2>/dev/null || echo normal)
banner() { echo "$(date -u +%H:%M:%S) >   $(cat "$SIM/banner")"; }
case "$MODE" in
  hang) echo $$ > "$SIM/hang.pid"; exec sleep 1000 ;;  # the pid lets tests check this very process is gone
  huge) yes "web@default (28671) - 40.5 MB pad pad pad pad pad pad pad pad pad pad pad pad pad pad" | head -c 20000000; exit 0 ;;
  binary) head -c 4096 /dev/urandom; exit 0 ;;
  slow) sleep "$(cat "$SIM/delay" 2>/dev/null || echo 0.4)" ;;
esac
case "$1" in
  pdump)
    banner
    # pdump_blind: the modules run, but not as this user or not with this environment (they belong
    # to another user / install), so pdump sees nothing: the documented empty answer.
    if [ -s "$SIM/state" ] && [ ! -f "$SIM/pdump_blind" ]; then
      while read -r name pid mem etimes; do echo "$name ($pid) - $mem MB"; done < "$SIM/state"
    else
      echo "No tasks"
    fi ;;
  monitor)
    banner
    if [ "$2" = "-missing" ]; then
      while read -r name; do
        if [ -f "$SIM/pdump_blind" ] || ! grep -q "^$name " "$SIM/state" 2>/dev/null; then echo "$name"; fi
      done < "$SIM/expected"
    fi ;;
  start|stop|restart|shutdown|watchdog|config|kill)
    echo "simulated host: refusing state-changing verb '$1'" >&2
    exit 3 ;;
  *)
    echo "simulated nlserver: unknown command '$1'" >&2
    exit 2 ;;
esac
