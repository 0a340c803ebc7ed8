#!/bin/sh
# Simulated `ss -lntuH`: the listening sockets of the simulated host (sim/ports: "udp 6666").
SIM=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$SIM/ports" ] || exit 0
while read -r proto port; do
  if [ "$proto" = udp ]; then echo "udp UNCONN 0 0 127.0.0.1:$port 0.0.0.0:*"
  else echo "tcp LISTEN 0 128 0.0.0.0:$port 0.0.0.0:*"; fi
done < "$SIM/ports"
