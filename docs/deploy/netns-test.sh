#!/usr/bin/env bash
# Multi-host FedNL test on one Linux machine (needs root). The master and the clients run in separate network
# namespaces, each joined to one bridge by a veth pair (10.77.0.0/24: master 10.77.0.1, client namespaces
# 10.77.0.10 and up), with TLS certificates made for the master's address. Passes when the master and every
# client exit 0. Namespaces, links, the bridge and the work directory are always removed (unless --keep).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: sudo docs/deploy/netns-test.sh [options]

  --clients N       clients (default 3)
  --namespaces K    client namespaces; clients are spread over them round-robin (default: one per client)
  --rounds R        rounds (default 20)
  --data FILE       shared LIBSVM file that each client slices (default: $FEDNL_DATA/$DATASET when FEDNL_DATA
                    is set, otherwise the built-in synthetic data)
  --compressor C    randk|topk|toplek|randseqk|natural|identical (default randk)
  --algorithm A     fednl|fednl-ls|fednl-pp (default fednl)
  --delay-ms MS     add MS ms of delay on every namespace's outgoing traffic (tc netem, kernel module
                    sch_netem), so a round trip gains 2*MS ms
  --insecure        plain TCP instead of TLS
  --timeout SEC     limit on every fednl process (default 600)
  --keep            leave the namespaces, the bridge and the logs for inspection
  -h, --help        this text

Environment: FEDNL (the fednl command, default ./fednl), FEDNL_DATA, DATASET (default w8a).
Under sudo, keep dotnet on the PATH: sudo env "PATH=$PATH" docs/deploy/netns-test.sh ...
EOF
}

die() { echo "netns-test: $*" >&2; exit 2; }
log() { echo "netns-test: $*" >&2; }

CLIENTS=3
NAMESPACES_WANTED=""
ROUNDS=20
DATA=""
COMPRESSOR=randk
ALGORITHM=fednl
DELAY_MS=""
INSECURE=0
TIMEOUT=600
KEEP=0
PLUMBING_ONLY=0   # hidden: set up the network, check connectivity, tear down (no fednl needed)
PORT=4000
SEED=123

need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --clients) need_value "$@"; CLIENTS=$2; shift 2 ;;
    --namespaces) need_value "$@"; NAMESPACES_WANTED=$2; shift 2 ;;
    --rounds) need_value "$@"; ROUNDS=$2; shift 2 ;;
    --data) need_value "$@"; DATA=$2; shift 2 ;;
    --compressor) need_value "$@"; COMPRESSOR=$2; shift 2 ;;
    --algorithm) need_value "$@"; ALGORITHM=$2; shift 2 ;;
    --delay-ms) need_value "$@"; DELAY_MS=$2; shift 2 ;;
    --insecure) INSECURE=1; shift ;;
    --timeout) need_value "$@"; TIMEOUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --plumbing-only) PLUMBING_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2)); }
is_uint "$CLIENTS" 1 || die "--clients must be a positive integer"
is_uint "$ROUNDS" 1 || die "--rounds must be a positive integer"
is_uint "$TIMEOUT" 1 || die "--timeout must be a positive integer"
K=${NAMESPACES_WANTED:-$CLIENTS}
if ! is_uint "$K" 1 || ((K > 240)); then die "--namespaces must be in [1, 240]"; fi
((K <= CLIENTS)) || K=$CLIENTS
[[ -z $DELAY_MS ]] || is_uint "$DELAY_MS" 0 || die "--delay-ms must be a non-negative integer"

[[ $(id -u) -eq 0 ]] || die "needs root (ip netns, veth, bridge)"
command -v ip >/dev/null || die "needs iproute2 (ip)"
[[ -z $DELAY_MS ]] || command -v tc >/dev/null || die "--delay-ms needs tc (iproute2)"

if [[ $PLUMBING_ONLY -eq 0 ]]; then
  FEDNL=${FEDNL:-./fednl}
  if [[ $FEDNL == */* ]]; then
    [[ -x $FEDNL ]] || die "$FEDNL not found or not executable; run ./build.sh or set FEDNL"
    FEDNL="$(cd "$(dirname "$FEDNL")" && pwd)/$(basename "$FEDNL")"   # the namespaces share the cwd, but be explicit
  else
    FEDNL=$(command -v "$FEDNL") || die "'$FEDNL' is not on PATH"
  fi
  if [[ -z $DATA && -n ${FEDNL_DATA:-} ]]; then
    DATA=$FEDNL_DATA/${DATASET:-w8a}
  fi
  [[ -z $DATA || -f $DATA ]] || die "data file '$DATA' not found"
fi

# Names: interface names must fit in 15 characters, so a short prefix with this script's pid.
P=fnl$$
BRIDGE=${P}br
MASTER_NS=${P}-m
MASTER_IP=10.77.0.1
CLIENT_NS=()
CLIENT_IP=()
for ((j = 0; j < K; j++)); do
  CLIENT_NS+=("${P}-c$j")
  CLIENT_IP+=("10.77.0.$((10 + j))")
done

WORK=$(mktemp -d /tmp/fednl-netns.XXXXXX)
CREATED_NS=()
BRIDGE_CREATED=0
PIDS=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ $KEEP -eq 1 ]]; then
    log "kept namespaces ${CREATED_NS[*]}, bridge $BRIDGE, logs in $WORK"
    log "remove with: for ns in ${CREATED_NS[*]}; do ip netns del \$ns; done; ip link del $BRIDGE; rm -rf $WORK"
    exit "$rc"
  fi
  local ns
  for ns in "${CREATED_NS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true   # also removes the veth pair
  done
  for ((j = 0; j <= K; j++)); do ip link del "${P}v$j" 2>/dev/null || true; done
  if [[ $BRIDGE_CREATED -eq 1 ]]; then ip link del "$BRIDGE" 2>/dev/null || true; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- network ---------------------------------------------------------------------------------------------
ip link add "$BRIDGE" type bridge
BRIDGE_CREATED=1
ip link set "$BRIDGE" up

# add_host NS ADDR INDEX: namespace NS with eth0 = ADDR/24, its peer ${P}v<INDEX> on the bridge.
add_host() {
  local ns=$1 addr=$2 index=$3
  ip netns add "$ns"
  CREATED_NS+=("$ns")
  ip link add "${P}v$index" type veth peer name eth0 netns "$ns"
  ip link set "${P}v$index" master "$BRIDGE" up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  if [[ -n $DELAY_MS ]]; then
    ip netns exec "$ns" tc qdisc add dev eth0 root netem delay "${DELAY_MS}ms" \
      || die "tc netem failed (is the sch_netem kernel module available?)"
  fi
}
add_host "$MASTER_NS" "$MASTER_IP" 0
for ((j = 0; j < K; j++)); do add_host "${CLIENT_NS[j]}" "${CLIENT_IP[j]}" $((j + 1)); done
log "network: bridge $BRIDGE, master $MASTER_NS ($MASTER_IP), ${K} client namespace(s) ${CLIENT_IP[0]}..${CLIENT_IP[K - 1]}${DELAY_MS:+, delay ${DELAY_MS} ms}"

# listening NS PORT: true when something listens on PORT inside NS.
listening() { [[ -n $(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null) ]]; }

# --- plumbing check (hidden --plumbing-only) ---------------------------------------------------------------
# Each client namespace opens a TCP connection to the master's address with bash's /dev/tcp. With python3 a
# listener in the master namespace answers every client; without it a "connection refused" (the master's
# kernel answered with RST) still proves the round trip. A timeout means no connectivity.
plumbing_check() {
  local failures=0 j out rc listener=""
  if command -v ping >/dev/null; then
    for ((j = 0; j < K; j++)); do
      if ip netns exec "${CLIENT_NS[j]}" ping -c 1 -W 2 "$MASTER_IP" >/dev/null 2>&1; then
        log "ping ${CLIENT_IP[j]} -> $MASTER_IP: ok"
      else
        log "ping ${CLIENT_IP[j]} -> $MASTER_IP: FAILED"; failures=$((failures + 1))
      fi
    done
  fi
  if command -v python3 >/dev/null; then
    ip netns exec "$MASTER_NS" timeout 30 python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
for _ in range(int(sys.argv[3])):
    c, peer = s.accept()
    line = c.makefile().readline().strip()
    c.sendall(("ack %s from %s\n" % (line, peer[0])).encode())
    c.close()
' "$MASTER_IP" "$PORT" "$K" > "$WORK/listener.log" 2>&1 &
    listener=$!
    PIDS+=("$listener")
    for ((j = 0; j < 50; j++)); do listening "$MASTER_NS" "$PORT" && break; sleep 0.2; done
    listening "$MASTER_NS" "$PORT" || { log "test listener did not start:"; cat "$WORK/listener.log" >&2; return 1; }
  fi
  for ((j = 0; j < K; j++)); do
    rc=0
    # shellcheck disable=SC2016  # expanded by the inner bash
    out=$(ip netns exec "${CLIENT_NS[j]}" timeout 5 bash -c '
      exec 3<>"/dev/tcp/$1/$2" || exit 3
      printf "%s\n" "$3" >&3
      IFS= read -r reply <&3
      printf "%s\n" "$reply"' _ "$MASTER_IP" "$PORT" "hello-$j" 2>&1) || rc=$?
    if [[ -n $listener ]]; then
      if [[ $rc -eq 0 && $out == "ack hello-$j from ${CLIENT_IP[j]}" ]]; then
        log "tcp ${CLIENT_IP[j]} -> $MASTER_IP:$PORT: ok ($out)"
      else
        log "tcp ${CLIENT_IP[j]} -> $MASTER_IP:$PORT: FAILED (exit $rc: $out)"; failures=$((failures + 1))
      fi
    elif [[ $out == *"Connection refused"* ]]; then
      log "tcp ${CLIENT_IP[j]} -> $MASTER_IP:$PORT: reachable (refused, no listener)"
    else
      log "tcp ${CLIENT_IP[j]} -> $MASTER_IP:$PORT: FAILED (exit $rc: $out)"; failures=$((failures + 1))
    fi
  done
  if [[ -n $listener ]]; then wait "$listener" || { log "test listener exited with an error"; failures=$((failures + 1)); }; fi
  # And the other direction: the master namespace reaches the first client namespace.
  rc=0
  # shellcheck disable=SC2016
  out=$(ip netns exec "$MASTER_NS" timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${CLIENT_IP[0]}" "$PORT" 2>&1) || rc=$?
  if [[ $out == *"Connection refused"* ]]; then
    log "tcp $MASTER_IP -> ${CLIENT_IP[0]}:$PORT: reachable (refused, no listener)"
  else
    log "tcp $MASTER_IP -> ${CLIENT_IP[0]}:$PORT: FAILED (exit $rc: $out)"; failures=$((failures + 1))
  fi
  [[ $failures -eq 0 ]]
}

if [[ $PLUMBING_ONLY -eq 1 ]]; then
  if plumbing_check; then
    log "plumbing OK: $((K + 1)) namespaces on $BRIDGE"
    exit 0
  fi
  log "plumbing FAILED"
  if [[ -r /proc/sys/net/bridge/bridge-nf-call-iptables && $(cat /proc/sys/net/bridge/bridge-nf-call-iptables) == 1 ]]; then
    log "bridged traffic passes the host's iptables FORWARD chain (bridge-nf-call-iptables = 1); check its policy"
  fi
  exit 1
fi

# --- the run -----------------------------------------------------------------------------------------------
SECURITY=(--insecure)
if [[ $INSECURE -eq 0 ]]; then
  "$FEDNL" certs init --dir "$WORK/certs" --clients "$CLIENTS" --hosts "$MASTER_IP" > "$WORK/certs.log" 2>&1 \
    || { cat "$WORK/certs.log" >&2; die "fednl certs init failed"; }
  SECURITY=(--certs "$WORK/certs")
fi
DATA_FLAGS=(--clients "$CLIENTS" --seed "$SEED" --add-intercept)
[[ -z $DATA ]] || DATA_FLAGS=(--data "$DATA" "${DATA_FLAGS[@]}")

log "master: $ALGORITHM, $COMPRESSOR, $CLIENTS clients, $ROUNDS rounds, data ${DATA:-synthetic}$([[ $INSECURE -eq 1 ]] && echo ", insecure")"
ip netns exec "$MASTER_NS" timeout -k 10 "$TIMEOUT" "$FEDNL" master --listen "$MASTER_IP:$PORT" --clients "$CLIENTS" \
  --algorithm "$ALGORITHM" --compressor "$COMPRESSOR" --rounds "$ROUNDS" --seed "$SEED" "${SECURITY[@]}" \
  --join-timeout 120 --out "$WORK/history.csv" --json > "$WORK/master.out" 2> "$WORK/master.log" &
MASTER_PID=$!
PIDS+=("$MASTER_PID")

# Start the clients once the master listens (they would retry anyway; this keeps the logs short).
for ((t = 0; t < 600; t++)); do
  listening "$MASTER_NS" "$PORT" && break
  kill -0 "$MASTER_PID" 2>/dev/null || break
  sleep 0.1
done
if ! listening "$MASTER_NS" "$PORT"; then
  log "the master is not listening on $MASTER_IP:$PORT; master log:"
  cat "$WORK/master.log" >&2
  exit 1
fi

CLIENT_PIDS=()
for ((i = 0; i < CLIENTS; i++)); do
  ns=${CLIENT_NS[i % K]}
  ip netns exec "$ns" timeout -k 10 "$TIMEOUT" "$FEDNL" client --master "$MASTER_IP:$PORT" --id "$i" \
    "${DATA_FLAGS[@]}" "${SECURITY[@]}" --retry-for 30 > "$WORK/client-$i.log" 2>&1 &
  CLIENT_PIDS+=($!)
  PIDS+=($!)
done

master_rc=0
wait "$MASTER_PID" || master_rc=$?
if [[ $master_rc -ne 0 ]]; then
  # The clients would wait for --retry-for; stop them now.
  for pid in "${CLIENT_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
fi
failed=0
for ((i = 0; i < CLIENTS; i++)); do
  rc=0
  wait "${CLIENT_PIDS[i]}" || rc=$?
  if [[ $rc -ne 0 ]]; then
    failed=$((failed + 1))
    log "client $i (${CLIENT_IP[i % K]}) exited with $rc; last lines of its log:"
    tail -n 5 "$WORK/client-$i.log" >&2
  fi
done

log "master log:"
cat "$WORK/master.log" >&2
if [[ $master_rc -ne 0 || $failed -ne 0 ]]; then
  log "FAILED: master exit $master_rc, $failed of $CLIENTS clients failed"
  exit 1
fi
tail -n 1 "$WORK/master.out"
log "PASSED: master in $MASTER_NS ($MASTER_IP) and $CLIENTS clients in $K namespace(s) exited 0"
