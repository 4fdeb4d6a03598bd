#!/usr/bin/env bash
# Starts a networked FedNL run over ssh on a list of hosts: the first line of HOSTS_FILE is the master, the other
# lines are client hosts (clients are assigned to them round-robin). Every host needs the built project at the
# same path (FEDNL_ROOT) and the data at FEDNL_DATA. Ctrl-C stops every remote process.
#
# Usage: docs/deploy/launch-hosts.sh [--dry-run] [--copy-certs] HOSTS_FILE CLIENTS [extra master flags...]
# Environment: FEDNL_ROOT (default: this checkout), FEDNL_DATA, DATASET (w8a), ROUNDS (100), COMPRESSOR (randk),
#              PORT (4000), CERTS (certs directory on every host, default $FEDNL_ROOT/certs).
set -euo pipefail

DRY_RUN=0
COPY_CERTS=0
while [[ $# -gt 0 && $1 == --* ]]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --copy-certs) COPY_CERTS=1 ;;
    --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "launch-hosts: unknown flag '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ $# -ge 2 ]] || { sed -n '6,6p' "$0" | sed 's/^# //' >&2; exit 2; }
HOSTS_FILE=$1
CLIENTS=$2
shift 2
EXTRA=("$@")

FEDNL_ROOT=${FEDNL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
FEDNL_DATA=${FEDNL_DATA:-$FEDNL_ROOT/../shared/datasets}
DATASET=${DATASET:-w8a}
ROUNDS=${ROUNDS:-100}
COMPRESSOR=${COMPRESSOR:-randk}
PORT=${PORT:-4000}
CERTS=${CERTS:-$FEDNL_ROOT/certs}

mapfile -t HOSTS < <(grep -v '^\s*\(#\|$\)' "$HOSTS_FILE")
[[ ${#HOSTS[@]} -ge 2 ]] || { echo "launch-hosts: $HOSTS_FILE needs a master line and at least one client host" >&2; exit 2; }
MASTER=${HOSTS[0]}
CLIENT_HOSTS=("${HOSTS[@]:1}")

run() {
  if [[ $DRY_RUN -eq 1 ]]; then printf '%q ' "$@"; echo; else "$@"; fi
}

# Certificates: made here once for the master's name, then copied to every host.
if [[ $DRY_RUN -eq 0 && ! -f $CERTS/ca.pem ]]; then
  "$FEDNL_ROOT/fednl" certs init --dir "$CERTS" --clients "$CLIENTS" --hosts "$MASTER"
fi
if [[ $COPY_CERTS -eq 1 ]]; then
  for host in "${HOSTS[@]}"; do run scp -q -r "$CERTS" "$host:$(dirname "$CERTS")/"; done
fi

PIDS=()
REMOTE=()
stop_all() {
  echo "launch-hosts: stopping remote processes" >&2
  for host in "${HOSTS[@]}"; do run ssh "$host" "pkill -INT -f 'Fednl.Cli.dll (master|client) .*:$PORT'" || true; done
  exit 130
}
trap stop_all INT TERM

run ssh "$MASTER" "cd '$FEDNL_ROOT' && ./fednl master --listen 0.0.0.0:$PORT --clients $CLIENTS --rounds $ROUNDS \
  --compressor $COMPRESSOR --certs '$CERTS' --out history.csv ${EXTRA[*]:-}" &
PIDS+=($!); REMOTE+=("master on $MASTER")
for ((i = 0; i < CLIENTS; i++)); do
  host=${CLIENT_HOSTS[$((i % ${#CLIENT_HOSTS[@]}))]}
  run ssh "$host" "cd '$FEDNL_ROOT' && ./fednl client --master $MASTER:$PORT --id $i --clients $CLIENTS \
    --data '$FEDNL_DATA/$DATASET' --add-intercept --certs '$CERTS'" &
  PIDS+=($!); REMOTE+=("client $i on $host")
done

status=0
for k in "${!PIDS[@]}"; do
  if ! wait "${PIDS[$k]}"; then
    echo "launch-hosts: ${REMOTE[$k]} failed" >&2
    status=1
  fi
done
exit $status
