#!/usr/bin/env bash
# A real multi-host FedNL run on one Linux machine: the master and each client in its own network namespace,
# joined by veth pairs on a bridge (10.77.0.0/24), TLS with certificates for the master's namespace address.
# Needs root. Usage: sudo docs/deploy/netns-test.sh [--clients N] [--rounds R] [--data FILE] [--delay-ms MS] [--keep]
set -euo pipefail

FEDNL=${FEDNL:-./fednl}
CLIENTS=4
ROUNDS=50
DATA=""
DELAY_MS=""
KEEP=0
PREFIX=fednl$$
BRIDGE=${PREFIX}br
PORT=4000

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --clients) CLIENTS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --delay-ms) DELAY_MS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "netns-test: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "netns-test: needs root (ip netns)" >&2; exit 2; }
[[ -x $FEDNL ]] || { echo "netns-test: $FEDNL not found; run ./build.sh or set FEDNL" >&2; exit 2; }

NAMESPACES=()
WORK=$(mktemp -d)
cleanup() {
  if [[ $KEEP -eq 1 ]]; then
    echo "netns-test: kept namespaces ${NAMESPACES[*]} and bridge $BRIDGE; logs in $WORK"
    return
  fi
  for ns in "${NAMESPACES[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Host i (0 = master) lives in namespace ${PREFIX}-i with address 10.77.0.(10+i).
ip link add "$BRIDGE" type bridge
ip link set "$BRIDGE" up
for i in $(seq 0 "$CLIENTS"); do
  ns=${PREFIX}-$i
  ip netns add "$ns"
  NAMESPACES+=("$ns")
  ip link add "${PREFIX}v$i" type veth peer name eth0 netns "$ns"
  ip link set "${PREFIX}v$i" master "$BRIDGE" up
  ip -n "$ns" addr add "10.77.0.$((10 + i))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  if [[ -n $DELAY_MS ]]; then
    ip netns exec "$ns" tc qdisc add dev eth0 root netem delay "${DELAY_MS}ms" \
      || { echo "netns-test: --delay-ms needs tc netem (kernel module sch_netem)" >&2; exit 2; }
  fi
done
MASTER_IP=10.77.0.10

"$FEDNL" certs init --dir "$WORK/certs" --clients "$CLIENTS" --hosts "$MASTER_IP" > /dev/null
DATA_FLAGS=()
[[ -n $DATA ]] && DATA_FLAGS=(--data "$DATA" --add-intercept)

ip netns exec "${PREFIX}-0" "$FEDNL" master --listen "$MASTER_IP:$PORT" --clients "$CLIENTS" --rounds "$ROUNDS" \
  --certs "$WORK/certs" --out "$WORK/history.csv" --json > "$WORK/master.json" 2> "$WORK/master.log" &
MASTER=$!
sleep 1
CLIENT_PIDS=()
for i in $(seq 1 "$CLIENTS"); do
  ip netns exec "${PREFIX}-$i" "$FEDNL" client --master "$MASTER_IP:$PORT" --id $((i - 1)) --clients "$CLIENTS" \
    --certs "$WORK/certs" "${DATA_FLAGS[@]}" > /dev/null 2> "$WORK/client-$((i - 1)).log" &
  CLIENT_PIDS+=($!)
done

status=0
wait "$MASTER" || status=$?
for pid in "${CLIENT_PIDS[@]}"; do wait "$pid" || status=$?; done
cat "$WORK/master.log" >&2
if [[ $status -ne 0 ]]; then
  echo "netns-test: FAILED (exit $status); client logs:" >&2
  tail -n 5 "$WORK"/client-*.log >&2
  exit 1
fi
cat "$WORK/master.json"
echo "netns-test: master and $CLIENTS clients in separate namespaces finished"
