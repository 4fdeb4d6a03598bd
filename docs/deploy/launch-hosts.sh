#!/usr/bin/env bash
# Starts a multi-node FedNL run over ssh: the master on the first host of a hosts file, clients 0..N-1 on the
# other hosts round-robin. Waits for every process, prints each exit code, and on Ctrl-C interrupts the remote
# processes (SIGINT, then SIGKILL after a grace period). Run `launch-hosts.sh --help` for the options.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: docs/deploy/launch-hosts.sh [options] HOSTS_FILE [-- extra master flags...]

HOSTS_FILE: one ssh destination ([user@]host) a line. The first line is the master; the others are client
hosts, and clients are assigned to them round-robin. The master line may have a second field: the address the
clients dial and the master certificate names (default: the host part of the destination). Blank lines and
lines starting with # are ignored.

Options:
  --clients N          number of clients (default: the number of client hosts)
  --rounds R           rounds (default 100)
  --algorithm A        fednl|fednl-ls|fednl-pp (default fednl)
  --compressor C       randk|topk|toplek|randseqk|natural|identical (default randk)
  --seed S             seed of the split and of the run (default 123)
  --port P             master port (default 4000)
  --data FILE          shared LIBSVM file, same path on every client host (default: $FEDNL_DATA/$DATASET)
  --local-data PATTERN each client trains on its own file; %i in PATTERN becomes the client id
  --no-intercept       do not pass --add-intercept to the clients
  --certs DIR          local certificate directory; created with `fednl certs init` when it has no ca.pem
                       (default: ./certs)
  --remote-certs DIR   certificate directory on the remote hosts (default: the absolute path of --certs)
  --copy-certs         scp to each host only the files it needs (master: ca.pem, master.pem, master.key;
                       client I: ca.pem, client-I.pem, client-I.key); the CA key never leaves this machine
  --insecure           plain TCP without certificates
  --remote-root DIR    repository root (with ./fednl) on the remote hosts (default: this checkout's path)
  --logs DIR           local directory for logs, exit codes and the history (default: fednl-logs-<date>)
  --retry-for SEC      seconds a client keeps trying to reach the master (default 120)
  --client-flags STR   extra flags for every client, split on spaces (e.g. "--idle-timeout 900")
  --grace SEC          on Ctrl-C, seconds from SIGINT to the master to SIGKILL of all (default 20)
  --dry-run            print the commands instead of running them
  -h, --help           this text

Environment: FEDNL_DATA (default: <remote root>/../shared/datasets), DATASET (default w8a),
SSH (default ssh), SCP (default scp), SSH_OPTS (default "-o BatchMode=yes -o ConnectTimeout=10").

Extra master flags must not repeat a flag the launcher sets (--listen --clients --algorithm --rounds
--compressor --seed --certs --insecure --out --json): fednl rejects a repeated flag.
Every host needs ./build.sh run in the remote root. Logs: <logs>/master.log (master stderr), master.out (its
stdout; the last line is the JSON summary), client-I.log, exit-codes.txt, history.csv.
EOF
}

die() { echo "launch-hosts: $*" >&2; exit 2; }
log() { echo "launch-hosts: $*" >&2; }

LOCAL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLIENTS=""
ROUNDS=100
ALGORITHM=fednl
COMPRESSOR=randk
SEED=123
PORT=4000
DATA=""
LOCAL_DATA=""
INTERCEPT=1
CERTS=certs
REMOTE_CERTS=""
COPY_CERTS=0
INSECURE=0
REMOTE_ROOT=$LOCAL_ROOT
LOGS=""
CLIENT_FLAGS=""
RETRY_FOR=120
GRACE=20
DRY_RUN=0
HOSTS_FILE=""
MASTER_EXTRA=()

need_value() { [[ $# -ge 2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --clients) need_value "$@"; CLIENTS=$2; shift 2 ;;
    --rounds) need_value "$@"; ROUNDS=$2; shift 2 ;;
    --algorithm) need_value "$@"; ALGORITHM=$2; shift 2 ;;
    --compressor) need_value "$@"; COMPRESSOR=$2; shift 2 ;;
    --seed) need_value "$@"; SEED=$2; shift 2 ;;
    --port) need_value "$@"; PORT=$2; shift 2 ;;
    --data) need_value "$@"; DATA=$2; shift 2 ;;
    --local-data) need_value "$@"; LOCAL_DATA=$2; shift 2 ;;
    --no-intercept) INTERCEPT=0; shift ;;
    --certs) need_value "$@"; CERTS=$2; shift 2 ;;
    --remote-certs) need_value "$@"; REMOTE_CERTS=$2; shift 2 ;;
    --copy-certs) COPY_CERTS=1; shift ;;
    --insecure) INSECURE=1; shift ;;
    --remote-root) need_value "$@"; REMOTE_ROOT=$2; shift 2 ;;
    --logs) need_value "$@"; LOGS=$2; shift 2 ;;
    --client-flags) need_value "$@"; CLIENT_FLAGS=$2; shift 2 ;;
    --retry-for) need_value "$@"; RETRY_FOR=$2; shift 2 ;;
    --grace) need_value "$@"; GRACE=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; MASTER_EXTRA=("$@"); break ;;
    -*) usage >&2; die "unknown option '$1'" ;;
    *) [[ -z $HOSTS_FILE ]] || die "more than one hosts file ('$HOSTS_FILE', '$1')"; HOSTS_FILE=$1; shift ;;
  esac
done
[[ -n $HOSTS_FILE ]] || { usage >&2; die "no hosts file"; }
[[ -f $HOSTS_FILE ]] || die "hosts file '$HOSTS_FILE' not found"
[[ -z $DATA || -z $LOCAL_DATA ]] || die "give --data or --local-data, not both"
[[ $PORT =~ ^[0-9]+$ ]] || die "--port must be a number"
[[ $GRACE =~ ^[0-9]+$ ]] || die "--grace must be a whole number of seconds"
if [[ $INSECURE -eq 1 && $COPY_CERTS -eq 1 ]]; then die "--copy-certs and --insecure exclude each other"; fi

# --- hosts -------------------------------------------------------------------------------------------------
MASTER=""
MASTER_ADDR=""
CLIENT_HOSTS=()
while read -r dest addr _ || [[ -n ${dest:-} ]]; do
  [[ -z ${dest:-} || $dest == \#* ]] && continue
  if [[ -z $MASTER ]]; then
    MASTER=$dest
    MASTER_ADDR=${addr:-${dest#*@}}
  else
    CLIENT_HOSTS+=("$dest")
  fi
done < "$HOSTS_FILE"
[[ -n $MASTER ]] || die "$HOSTS_FILE names no host"
[[ ${#CLIENT_HOSTS[@]} -ge 1 ]] || die "$HOSTS_FILE needs at least one client host after the master line"
CLIENTS=${CLIENTS:-${#CLIENT_HOSTS[@]}}
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || die "--clients must be a positive integer"

if [[ $CERTS != /* ]]; then CERTS=$PWD/$CERTS; fi
REMOTE_CERTS=${REMOTE_CERTS:-$CERTS}
FEDNL_DATA=${FEDNL_DATA:-$REMOTE_ROOT/../shared/datasets}
if [[ -z $DATA && -z $LOCAL_DATA ]]; then DATA=$FEDNL_DATA/${DATASET:-w8a}; fi
RUN_ID=$(date +%Y%m%d-%H%M%S)-$$
LOGS=${LOGS:-fednl-logs-$RUN_ID}
REMOTE_HISTORY=/tmp/fednl-launch-$RUN_ID-history.csv

read -r -a SSH_CMD <<<"${SSH:-ssh} ${SSH_OPTS--o BatchMode=yes -o ConnectTimeout=10}"
read -r -a SCP_CMD <<<"${SCP:-scp} -q ${SSH_OPTS--o BatchMode=yes -o ConnectTimeout=10}"
read -r -a CLIENT_EXTRA <<<"$CLIENT_FLAGS"
SETSID=()
# setsid keeps the local ssh processes out of the terminal's process group, so Ctrl-C reaches only this
# script, which then interrupts the remote processes and still collects their exit codes.
if command -v setsid >/dev/null; then SETSID=(setsid); fi

# q WORD: WORD for a POSIX shell (bash included), single-quoted unless it is plain.
q() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}
# qall WORD...: the words quoted and joined by spaces (also how --dry-run shows a command).
qall() { local w out=""; for w in "$@"; do out+="$(q "$w") "; done; printf '%s' "${out% }"; }
show() { qall "$@"; }

# run CMD...: run, or print with --dry-run.
run() {
  if [[ $DRY_RUN -eq 1 ]]; then show "$@"; echo; else "$@"; fi
}

# --- certificates ------------------------------------------------------------------------------------------
SECURITY=(--insecure)
if [[ $INSECURE -eq 0 ]]; then
  SECURITY=(--certs "$REMOTE_CERTS")
  if [[ ! -f $CERTS/ca.pem ]]; then
    log "creating certificates in $CERTS for the master address $MASTER_ADDR"
    run "$LOCAL_ROOT/fednl" certs init --dir "$CERTS" --clients "$CLIENTS" --hosts "$MASTER_ADDR"
  elif [[ $DRY_RUN -eq 0 ]]; then
    for f in ca.pem master.pem master.key "client-$((CLIENTS - 1)).pem" "client-$((CLIENTS - 1)).key"; do
      [[ -f $CERTS/$f ]] || die "$CERTS/$f missing (remove $CERTS or point --certs elsewhere)"
    done
  fi
  if [[ $COPY_CERTS -eq 1 ]]; then
    # Files per host, in the order hosts first appear.
    declare -A FILES_FOR=()
    COPY_HOSTS=()
    add_files() {
      local host=$1; shift
      [[ -n ${FILES_FOR[$host]+set} ]] || { COPY_HOSTS+=("$host"); FILES_FOR[$host]="ca.pem"; }
      FILES_FOR[$host]+=" $*"
    }
    add_files "$MASTER" master.pem master.key
    for ((i = 0; i < CLIENTS; i++)); do
      add_files "${CLIENT_HOSTS[i % ${#CLIENT_HOSTS[@]}]}" "client-$i.pem" "client-$i.key"
    done
    for host in "${COPY_HOSTS[@]}"; do
      read -r -a names <<<"${FILES_FOR[$host]}"
      files=()
      for f in "${names[@]}"; do files+=("$CERTS/$f"); done
      run "${SSH_CMD[@]}" -n "$host" "mkdir -p $(q "$REMOTE_CERTS") && chmod 700 $(q "$REMOTE_CERTS")"
      run "${SCP_CMD[@]}" "${files[@]}" "$host:$REMOTE_CERTS/"
    done
  fi
fi

# --- start -------------------------------------------------------------------------------------------------
run mkdir -p "$LOGS"
NAMES=()      # "master", "client-I"
WHERE=()      # ssh destination
PIDFILES=()   # remote file with the process id
PIDS=()       # local ssh process id

# start NAME DEST STDOUT STDERR FEDNL-ARGS...: starts ./fednl on DEST in the background. The remote shell writes
# its pid to a file and execs fednl, so that pid is the fednl process (./fednl execs dotnet).
start() {
  local name=$1 dest=$2 out=$3 err=$4; shift 4
  local pidfile=/tmp/fednl-launch-$RUN_ID-$name.pid
  local remote
  remote="cd $(q "$REMOTE_ROOT") && echo \$\$ > $(q "$pidfile") && exec ./fednl $(qall "$@")"
  NAMES+=("$name"); WHERE+=("$dest"); PIDFILES+=("$pidfile")
  if [[ $DRY_RUN -eq 1 ]]; then
    local redirect
    redirect="2> $(show "$err")"
    if [[ $err == "$out" ]]; then redirect="2>&1"; fi
    echo "$(show "${SSH_CMD[@]}" -n "$dest" "$remote") > $(show "$out") $redirect &"
    PIDS+=(0)
  elif [[ $err == "$out" ]]; then
    "${SETSID[@]}" "${SSH_CMD[@]}" -n "$dest" "$remote" > "$out" 2>&1 &
    PIDS+=($!)
  else
    "${SETSID[@]}" "${SSH_CMD[@]}" -n "$dest" "$remote" > "$out" 2> "$err" &
    PIDS+=($!)
  fi
}

# signal_remote SIGNAL [master|clients|all]: sends SIGNAL to those remote processes through their pid files,
# after checking that the pid is a fednl process (a reused pid is left alone).
signal_remote() {
  local sig=$1 which=${2:-all} k pf cmd pids=()
  for k in "${!NAMES[@]}"; do
    case "$which:${NAMES[k]}" in master:master | clients:client-* | all:*) ;; *) continue ;; esac
    pf=$(q "${PIDFILES[k]}")
    cmd="p=\$(cat $pf 2>/dev/null) && grep -qai fednl /proc/\$p/cmdline 2>/dev/null && kill -$sig \$p; true"
    "${SSH_CMD[@]}" -n "${WHERE[k]}" "$cmd" </dev/null >/dev/null 2>&1 &
    pids+=($!)
  done
  if [[ ${#pids[@]} -gt 0 ]]; then wait "${pids[@]}" 2>/dev/null || true; fi
}

any_running() {
  local pid
  for pid in "${PIDS[@]}"; do
    if [[ $pid -ne 0 ]] && kill -0 "$pid" 2>/dev/null; then return 0; fi
  done
  return 1
}

# collect: waits for every local ssh and records its exit code (the remote fednl's, or 255 for an ssh error).
# When the master fails, the clients are interrupted instead of retrying for --retry-for seconds.
RCS=()
collect() {
  local k rc
  for k in "${!PIDS[@]}"; do
    [[ -z ${RCS[k]+set} ]] || continue
    rc=0
    if [[ ${PIDS[k]} -ne 0 ]]; then wait "${PIDS[k]}" || rc=$?; fi
    RCS[k]=$rc
    if [[ ${NAMES[k]} == master && $rc -ne 0 ]] && any_running; then
      log "the master exited with $rc; interrupting the clients"
      signal_remote INT clients
    fi
  done
}

report() {
  local k status=0 client_failed=0 line
  : > "$LOGS/exit-codes.txt"
  for k in "${!NAMES[@]}"; do
    line="${NAMES[k]} on ${WHERE[k]}: exit ${RCS[k]}"
    echo "$line" >> "$LOGS/exit-codes.txt"
    if [[ ${RCS[k]} -ne 0 ]]; then
      log "$line (log: $LOGS/${NAMES[k]}.log)"
      if [[ ${NAMES[k]} == master ]]; then status=${RCS[k]}; else client_failed=1; fi
    fi
  done
  [[ $status -ne 0 || $client_failed -eq 0 ]] || status=1
  log "$(grep -c ': exit 0$' "$LOGS/exit-codes.txt" || true) of ${#NAMES[@]} processes exited 0; codes in $LOGS/exit-codes.txt"
  return "$status"
}

on_interrupt() {
  trap 'log "second interrupt: SIGKILL"; signal_remote KILL; exit 130' INT TERM
  # The master, on SIGINT, finishes the round, checkpoints (with --checkpoint) and shuts the clients down.
  log "interrupted: sending SIGINT to the master (SIGKILL to everything left after ${GRACE}s)"
  signal_remote INT master
  local t
  for ((t = 0; t < GRACE; t++)); do any_running || break; sleep 1; done
  if any_running; then
    log "still running after ${GRACE}s: sending SIGKILL"
    signal_remote KILL
  fi
  collect
  finish
  report || true
  exit 130
}

# finish: copies the history (also the partial one of a failed run) and removes the remote pid files and
# history (one ssh per distinct host).
finish() {
  if ! "${SCP_CMD[@]}" "$MASTER:$REMOTE_HISTORY" "$LOGS/history.csv" 2>/dev/null && [[ ${RCS[0]} -eq 0 ]]; then
    log "could not copy the history from $MASTER:$REMOTE_HISTORY"
  fi
  local -A seen=()
  local k
  for k in "${!WHERE[@]}"; do
    [[ -z ${seen[${WHERE[k]}]+set} ]] || continue
    seen[${WHERE[k]}]=1
    "${SSH_CMD[@]}" -n "${WHERE[k]}" "rm -f /tmp/fednl-launch-$RUN_ID-*" >/dev/null 2>&1 || true
  done
}

MASTER_ARGS=(master --listen "0.0.0.0:$PORT" --clients "$CLIENTS" --algorithm "$ALGORITHM" --rounds "$ROUNDS"
  --compressor "$COMPRESSOR" --seed "$SEED" "${SECURITY[@]}" --out "$REMOTE_HISTORY" --json "${MASTER_EXTRA[@]}")
if [[ $DRY_RUN -eq 0 ]]; then trap on_interrupt INT TERM; fi
log "master on $MASTER (clients dial $MASTER_ADDR:$PORT), $CLIENTS clients on ${#CLIENT_HOSTS[@]} hosts, logs in $LOGS"
start master "$MASTER" "$LOGS/master.out" "$LOGS/master.log" "${MASTER_ARGS[@]}"

INTERCEPT_FLAG=()
if [[ $INTERCEPT -eq 1 ]]; then INTERCEPT_FLAG=(--add-intercept); fi
for ((i = 0; i < CLIENTS; i++)); do
  host=${CLIENT_HOSTS[i % ${#CLIENT_HOSTS[@]}]}
  if [[ -n $LOCAL_DATA ]]; then
    data_args=(--local-data "${LOCAL_DATA//%i/$i}")
  else
    data_args=(--data "$DATA" --clients "$CLIENTS" --seed "$SEED")
  fi
  start "client-$i" "$host" "$LOGS/client-$i.log" "$LOGS/client-$i.log" client --master "$MASTER_ADDR:$PORT" \
    --id "$i" "${data_args[@]}" "${INTERCEPT_FLAG[@]}" "${SECURITY[@]}" --retry-for "$RETRY_FOR" "${CLIENT_EXTRA[@]}"
done

if [[ $DRY_RUN -eq 1 ]]; then
  echo "wait"
  run "${SCP_CMD[@]}" "$MASTER:$REMOTE_HISTORY" "$LOGS/history.csv"
  exit 0
fi

collect
trap - INT TERM
finish
if [[ -s $LOGS/master.out ]]; then tail -n 1 "$LOGS/master.out"; fi
report
