#!/usr/bin/env bash
# bench.sh - hstsproxy against tinyproxy, Squid, HAProxy and nginx on
# loopback.
#
#   scripts/bench.sh                     build Release, run, write the doc
#   DURATION=10 ROUNDS=3 scripts/bench.sh
#
# Builds build-bench/ (Release), writes configs into a temp dir, starts an
# nginx origin (a 1 KiB and a 1 MiB file; a second port answering
# `return 307 https://$host$request_uri`), HAProxy (its own redirect,
# and a reverse proxy of the origin), hstsproxy, tinyproxy, Squid and a
# bare TCP relay in front of the origin for loads 3 and 5
# (scripts/bench/relay.c: splice(2) and nothing else, the least any
# proxy can cost there), and drives them with wrk
# (scripts/bench/request.lua: absolute-form requests, the same IP-literal
# URL for every proxy) and a Python tunnel client
# (scripts/bench/tunnel.py). Loads:
#   1 internal 307, keep-alive (ours vs nginx's and HAProxy's 307)
#   2 forward 1 KiB, keep-alive both sides
#   3 forward 1 MiB
#   4 one connection per request (Connection: close)
#   5 CONNECT tunnel throughput, one tunnel streaming the 1 MiB file
# Per load and server: req/s, MiB/s, p50, p99, errors, CPU time and peak
# RSS of the server's processes (/proc: utime+stime, VmHWM reset through
# clear_refs before each load). Then hstsproxy alone: idle RSS and time
# to the listening line with a PRELOAD_HOSTS-entry list, and RSS with
# IDLE_CONNS idle keep-alive connections (scripts/bench/idle_conns.py).
# The tables go to stdout and replace the results section of
# docs/BENCHMARKS.md (everything after its marker line).
#
# Environment (defaults in brackets):
#   DURATION [5]  seconds per measurement   WARMUP [1]  seconds before it
#   THREADS [2] CONNS [50]  wrk -t/-c        WRK_TIMEOUT [5s]
#   WORKERS [2]   hstsproxy --workers, nginx worker_processes and
#                 HAProxy nbthread
#   ROUNDS [1]    runs per load and server, interleaved; the median
#                 (by throughput) is reported
#   PRELOAD_HOSTS [150000]  IDLE_CONNS [10000]  STARTUP_RUNS [3]
#   BUILD_DIR [build-bench]  HSTSPROXY_BIN (skip the build, use this)
#   DOC [docs/BENCHMARKS.md]; DOC=- prints only   KEEP_TMP=1 keeps the
#   temp dir (configs, logs, raw wrk output) and names it
#   BASELINE_BIN  another hstsproxy binary (say, the previous main) run
#                 beside ours as server `base` in every load of the same
#                 run, with a column ours/base in the ratio table
#   INTERCEPT [0] 1: also the whole-network section: --intercept-tls
#                 pass-through of 1 MiB per connection against a direct
#                 connection, in a network namespace of its own
#                 (scripts/bench/intercept.py: root, unshare, ip, nft);
#                 only: that section alone, printed (nginx, tinyproxy,
#                 Squid and wrk not needed; the doc is not written)
#   ACCESS_LOG [0]  1: a second hstsproxy with --access-log (squid
#                 format, a file in the temp dir) runs as server
#                 `ours-alog` beside ours in loads 1 and 2, and a table
#                 gives ours-alog/ours per interleaved round
#   LOADS [1 2 3 4 5]  the loads to run, e.g. LOADS="1 2"
# Needs: cmake and a C toolchain, nginx, haproxy, tinyproxy, squid, wrk,
# curl, python3. Everything listens on 127.0.0.1; every process is started by
# this script, tracked by pid and stopped on exit. About 3 minutes with
# the defaults (ROUNDS=3: about 8 on a busy two-CPU machine).
set -euo pipefail

# The settings given in the environment, for the doc.
invocation=""
for v in DURATION WARMUP THREADS CONNS WRK_TIMEOUT WORKERS ROUNDS \
         PRELOAD_HOSTS IDLE_CONNS STARTUP_RUNS BUILD_DIR HSTSPROXY_BIN \
         BASELINE_BIN INTERCEPT ACCESS_LOG LOADS; do
  [ -z "${!v:-}" ] || invocation="$invocation$v=${!v} "
done
invocation="${invocation}scripts/bench.sh"

top=$(cd "$(dirname "$0")/.." && pwd)
here="$top/scripts/bench"
build=${BUILD_DIR:-"$top/build-bench"}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
WRK_TIMEOUT=${WRK_TIMEOUT:-5s}
WORKERS=${WORKERS:-2}
ROUNDS=${ROUNDS:-1}
PRELOAD_HOSTS=${PRELOAD_HOSTS:-150000}
IDLE_CONNS=${IDLE_CONNS:-10000}
STARTUP_RUNS=${STARTUP_RUNS:-3}
DOC=${DOC:-"$top/docs/BENCHMARKS.md"}
KEEP_TMP=${KEEP_TMP:-0}
INTERCEPT=${INTERCEPT:-0}

SMALL_BYTES=1024
LARGE_BYTES=1048576
PORT_WAIT_S=20      # for a server to listen
STOP_WAIT_S=12      # for a server to exit on SIGTERM (ours drains 10 s)
FD_HEADROOM=512     # descriptors beyond IDLE_CONNS
MARKER='<!-- bench.sh: everything below this line is replaced by each run -->'

say() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

for v in DURATION WARMUP THREADS CONNS WORKERS ROUNDS PRELOAD_HOSTS \
         IDLE_CONNS STARTUP_RUNS; do
  case "${!v}" in
    ''|*[!0-9]*|0) die "$v must be a positive integer, got '${!v}'" ;;
  esac
done
case "$INTERCEPT" in
  0|1) tools="nginx haproxy tinyproxy squid wrk curl python3 cc" ;;
  only) tools="python3 unshare ip nft" ;;
  *) die "INTERCEPT must be 0, 1 or only, got '$INTERCEPT'" ;;
esac
[ "$INTERCEPT" = 0 ] || tools="$tools unshare ip nft"
for tool in $tools; do
  command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool: not found (apt-get install $tool)"
done

# --- processes ------------------------------------------------------------

tmp=$(mktemp -d /tmp/hstsproxy-bench.XXXXXX)
chmod 755 "$tmp" # nginx workers and Squid run as other users
declare -a started=()
pid_nginx="" pid_tinyproxy="" pid_squid="" pid_ours="" pid_idle="" pid_base=""
pid_alog="" pid_haproxy="" pid_relay=""

cleanup() {
  local pid waited
  for pid in "${started[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${started[@]}"; do
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((STOP_WAIT_S * 10)) ]
    do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$KEEP_TMP" = 1 ]; then
    say "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The commands of this run, for the doc ($TMP for the temp dir).
note_cmd() {
  local line="$*"
  line=${line//$tmp/\$TMP}
  printf '%s\n' "${line//$top\//}" >>"$tmp/commands.txt"
}

# start NAME CMD... : runs CMD in the background, stdout+stderr to
# $tmp/NAME.out, records its pid in started[] and in the variable
# pid_NAME.
start() {
  local name=$1
  shift
  note_cmd "$*"
  "$@" >"$tmp/$name.out" 2>&1 &
  started+=("$!")
  printf -v "pid_$name" '%s' "$!"
}

stop() {
  local pid=$1 waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((STOP_WAIT_S * 10)) ]
  do
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_port NAME PORT: until something accepts on 127.0.0.1:PORT.
wait_port() {
  local name=$1 port=$2 pidvar="pid_$1" tries=0
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "${!pidvar}" 2>/dev/null ||
      die "$name exited at start: $(tail -n 5 "$tmp/$name.out")"
    tries=$((tries + 1))
    [ "$tries" -lt $((PORT_WAIT_S * 20)) ] ||
      die "$name: not listening on 127.0.0.1:$port after ${PORT_WAIT_S}s"
    sleep 0.05
  done
}

# wait_listening NAME: until hstsproxy's stderr has its listening line;
# prints the port.
wait_listening() {
  local name=$1 pidvar="pid_$1" tries=0 port=""
  while [ -z "$port" ]; do
    port=$(sed -n 's/^hstsproxy: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' \
      "$tmp/$name.out" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "${!pidvar}" 2>/dev/null ||
      die "$name exited at start: $(tail -n 5 "$tmp/$name.out")"
    tries=$((tries + 1))
    [ "$tries" -lt $((PORT_WAIT_S * 20)) ] ||
      die "$name: no listening line after ${PORT_WAIT_S}s"
    sleep 0.05
  done
  echo "$port"
}

# free_ports N: N distinct free loopback ports (bound together, then
# released: a small race, acceptable on a bench machine).
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$1"
}

# --- /proc measurements ---------------------------------------------------

clk_tck=$(getconf CLK_TCK)

# tree_pids PID: PID and all its descendants.
tree_pids() {
  local pid=$1 child
  echo "$pid"
  for child in $(pgrep -P "$pid" || true); do
    tree_pids "$child"
  done
}

# cpu_ticks PIDS...: utime+stime summed (fields 14 and 15 of stat; the
# command name in parentheses may hold spaces, so count after it).
cpu_ticks() {
  local pid total=0 t
  for pid in "$@"; do
    t=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null |
      awk '{ print $12 + $13 }') || t=0
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

# reset_hwm PIDS...: peak RSS back to the current RSS (clear_refs 5).
hwm_reset_ok=1
reset_hwm() {
  local pid
  for pid in "$@"; do
    echo 5 2>/dev/null >"/proc/$pid/clear_refs" || hwm_reset_ok=0
  done
}

# status_kib FIELD PIDS...: a /proc/PID/status field summed, in KiB.
status_kib() {
  local field=$1 pid total=0 v
  shift
  for pid in "$@"; do
    v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" \
      2>/dev/null) || v=0
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# accepts: connections nginx has accepted since it started (stub_status;
# the query itself adds one).
accepts() {
  curl -sS --max-time 5 "http://127.0.0.1:$r307_port/nginx-status" |
    awk 'NR == 3 { print $1 }'
}

# thread_ticks PID: "tid ticks" per thread.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')"
  done 2>/dev/null
}

# thread_cpu BEFORE AFTER: seconds per thread over a load, largest first,
# threads that used under a tick left out.
thread_cpu() {
  join <(sort "$1") <(sort "$2") |
    awk -v c="$clk_tck" '$3 > $2 { printf "%.2f\n", ($3 - $2) / c }' |
    sort -rn | paste -sd ' ' -
}

# --- results --------------------------------------------------------------
# Keyed "LOAD:SERVER" (and "LOAD:SERVER:ROUND" per round): THR is req/s,
# MIB MiB/s, P50/P99 in microseconds, ERR a count, CPU seconds, CPUREQ
# microseconds per request, RSS peak KiB, NA a reason when not measured.
declare -A THR=() MIB=() P50=() P99=() ERR=() CPU=() CPUREQ=() RSS=() NA=()
declare -A ERRTXT=() # wrk's error counters, when any is not zero
declare -A ACCEPTS=() # connections nginx accepted during the load
declare -A THREADS_CPU=() # hstsproxy: CPU seconds per thread, largest first

# kv NAME LINE: the value of NAME=value in LINE.
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# record KEY PIDS-TICKS-BEFORE PIDS... with THR etc. computed from
# requests, duration, bytes, p50, p99, errors.
record() {
  local key=$1 requests=$2 dur_us=$3 bytes=$4 p50=$5 p99=$6 errs=$7
  local ticks=$8 hwm=$9
  THR[$key]=$(awk -v r="$requests" -v d="$dur_us" \
    'BEGIN { printf "%.1f", r / (d / 1e6) }')
  MIB[$key]=$(awk -v b="$bytes" -v d="$dur_us" \
    'BEGIN { printf "%.1f", b / (d / 1e6) / 1048576 }')
  P50[$key]=$p50
  P99[$key]=$p99
  ERR[$key]=$errs
  CPU[$key]=$(awk -v t="$ticks" -v c="$clk_tck" \
    'BEGIN { printf "%.2f", t / c }')
  CPUREQ[$key]=$(awk -v t="$ticks" -v c="$clk_tck" -v r="$requests" \
    'BEGIN { if (r > 0) printf "%.1f", t / c * 1e6 / r; else print "-" }')
  RSS[$key]=$hwm
}

# wrk_load KEY ROOTPID PORT TARGET HOST CLOSE
wrk_load() {
  local key=$1 root=$2 port=$3 target=$4 host=$5 close=$6
  local pids c0 c1 out line errs
  local -a cmd=(wrk -t"$THREADS" -c"$CONNS" --timeout "$WRK_TIMEOUT"
    -s "$here/request.lua")
  pids=$(tree_pids "$root")
  BENCH_TARGET=$target BENCH_HOST=$host BENCH_CLOSE=$close \
    "${cmd[@]}" -d"${WARMUP}s" "http://127.0.0.1:$port/" >/dev/null 2>&1 ||
    true
  # shellcheck disable=SC2086
  reset_hwm $pids
  # shellcheck disable=SC2086
  c0=$(cpu_ticks $pids)
  a0=$(accepts)
  thread_ticks "$root" >"$tmp/threads0"
  out="$tmp/wrk-${key//:/-}.txt"
  note_cmd "BENCH_TARGET=$target BENCH_HOST=$host BENCH_CLOSE=$close" \
    "${cmd[@]}" -d"${DURATION}s" --latency "http://127.0.0.1:$port/"
  if ! BENCH_TARGET=$target BENCH_HOST=$host BENCH_CLOSE=$close \
    "${cmd[@]}" -d"${DURATION}s" --latency "http://127.0.0.1:$port/" \
    >"$out" 2>&1; then
    NA[$key]="wrk failed: $(tail -n 1 "$out")"
    return 0
  fi
  # shellcheck disable=SC2086
  c1=$(cpu_ticks $pids)
  a1=$(accepts)
  thread_ticks "$root" >"$tmp/threads1"
  ACCEPTS[$key]=$((a1 - a0 - 1))
  THREADS_CPU[$key]=$(thread_cpu "$tmp/threads0" "$tmp/threads1")
  line=$(grep '^BENCH ' "$out") || {
    NA[$key]="no summary from wrk"
    return 0
  }
  errs=$(($(kv err_connect "$line") + $(kv err_read "$line") +
    $(kv err_write "$line") + $(kv err_status "$line") +
    $(kv err_timeout "$line")))
  if [ "$errs" -gt 0 ]; then
    ERRTXT[$key]=$(printf '%s\n' "$line" | tr ' ' '\n' |
      sed -n 's/^err_\([a-z]*\)=\([1-9][0-9]*\)$/\1 \2/p' | paste -sd, -)
  fi
  # shellcheck disable=SC2086
  record "$key" "$(kv requests "$line")" "$(kv duration_us "$line")" \
    "$(kv bytes "$line")" "$(kv p50_us "$line")" "$(kv p99_us "$line")" \
    "$errs" $((c1 - c0)) "$(status_kib VmHWM $pids)"
}

# tunnel_load KEY ROOTPID PROXYPORT|"" [PORT]: load 5 through CONNECT, or
# straight to PORT (default: the origin's) when PROXYPORT is empty.
tunnel_load() {
  local key=$1 root=$2 pport=$3 tport=${4:-$origin_port} pids c0 c1 out line
  local -a cmd=(python3 "$here/tunnel.py" --target "127.0.0.1:$tport"
    --path /1m --seconds "$DURATION" --warmup 0)
  [ -n "$pport" ] && cmd+=(--proxy "127.0.0.1:$pport")
  pids=$(tree_pids "$root")
  # shellcheck disable=SC2086
  reset_hwm $pids
  # shellcheck disable=SC2086
  c0=$(cpu_ticks $pids)
  a0=$(accepts)
  thread_ticks "$root" >"$tmp/threads0"
  out="$tmp/tunnel-${key//:/-}.txt"
  note_cmd "${cmd[@]}"
  if ! "${cmd[@]}" >"$out" 2>&1; then
    NA[$key]=$(tail -n 1 "$out")
    return 0
  fi
  # shellcheck disable=SC2086
  c1=$(cpu_ticks $pids)
  a1=$(accepts)
  thread_ticks "$root" >"$tmp/threads1"
  ACCEPTS[$key]=$((a1 - a0 - 1))
  THREADS_CPU[$key]=$(thread_cpu "$tmp/threads0" "$tmp/threads1")
  line=$(grep '^BENCH ' "$out")
  # shellcheck disable=SC2086
  record "$key" "$(kv responses "$line")" \
    "$(awk -v s="$(kv seconds "$line")" 'BEGIN { printf "%d", s * 1e6 }')" \
    "$(kv bytes "$line")" "$(kv p50_us "$line")" "$(kv p99_us "$line")" \
    0 $((c1 - c0)) "$(status_kib VmHWM $pids)"
}

# pick_median LOAD SERVER: copies the round with the median throughput.
pick_median() {
  local base="$1:$2" r best
  if [ "$ROUNDS" -eq 1 ]; then
    best="$base:1"
  else
    best=$(for r in $(seq 1 "$ROUNDS"); do
      [ -n "${THR[$base:$r]:-}" ] && echo "${THR[$base:$r]} $base:$r"
    done | sort -n |
      awk '{ k[NR] = $2 } END { if (NR) print k[int((NR + 1) / 2)] }')
  fi
  if [ -z "$best" ] || [ -z "${THR[$best]:-}" ]; then
    NA[$base]=${NA[$base:1]:-not measured}
    return 0
  fi
  THR[$base]=${THR[$best]} MIB[$base]=${MIB[$best]}
  P50[$base]=${P50[$best]} P99[$base]=${P99[$best]}
  ERR[$base]=${ERR[$best]} CPU[$base]=${CPU[$best]}
  CPUREQ[$base]=${CPUREQ[$best]} RSS[$base]=${RSS[$best]}
  ERRTXT[$base]=${ERRTXT[$best]:-} ACCEPTS[$base]=${ACCEPTS[$best]:-}
  THREADS_CPU[$base]=${THREADS_CPU[$best]:-}
}

# --- build and start ------------------------------------------------------

if [ -n "${HSTSPROXY_BIN:-}" ]; then
  bin=$HSTSPROXY_BIN
else
  say "building Release in $build"
  if ! { cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$build" -j2 --target hstsproxy; } >"$tmp/build.log" 2>&1
  then
    die "build failed (a file mid-edit? retry later):" \
      "$(grep -m 3 -i error "$tmp/build.log")"
  fi
  bin="$build/hstsproxy"
fi
[ -x "$bin" ] || die "$bin: not an executable"
baseline=${BASELINE_BIN:-}
[ -z "$baseline" ] || [ -x "$baseline" ] ||
  die "BASELINE_BIN=$baseline: not an executable"

# --- whole networks: --intercept-tls pass-through (INTERCEPT) -----------

# The section's table on stdout (a failure says so in its place).
intercept_section() {
  local out="$tmp/intercept.txt" d o
  local -a cmd=(python3 "$here/intercept.py" --bin "$bin"
    --seconds "$DURATION" --bytes "$LARGE_BYTES" --workers "$WORKERS")
  note_cmd "${cmd[@]}"
  echo "### Whole networks: --intercept-tls pass-through"
  echo
  if ! "${cmd[@]}" >"$out" 2>&1; then
    echo "failed: $(tail -n 1 "$out")"
    echo
    return 0
  fi
  echo "One connection per transfer: a TLS ClientHello up, 1 MiB down, in a"
  echo "network namespace; \`direct\` is not redirected, \`intercepted\` is"
  echo "redirected by nftables to the proxy, which reads the SNI and splices."
  echo
  echo "| path | transfers | MiB/s | p50 ms | p99 ms |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  grep '^BENCH path=' "$out" | while read -r _ rest; do
    echo "| $(kv path "$rest") | $(kv transfers "$rest") |" \
      "$(kv mib_s "$rest") | $(kv p50_ms "$rest") | $(kv p99_ms "$rest") |"
  done
  echo
  echo "intercepted / direct throughput: $(kv ratio "$(grep '^BENCH ratio=' \
    "$out" | cut -d ' ' -f 2-)")"
  echo
}

if [ "$INTERCEPT" = only ]; then
  intercept_section >"$tmp/intercept.md"
  {
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), \`$invocation\`"
    echo "- commit: \`$(git -C "$top" rev-parse --short HEAD 2>/dev/null)\`"
    echo "- machine: $(nproc) CPUs, load average at the end" \
      "$(cut -d ' ' -f 1-3 /proc/loadavg)"
    echo
    cat "$tmp/intercept.md"
    echo '```'
    cat "$tmp/commands.txt"
    echo '```'
  }
  exit 0
fi

hard=$(ulimit -Hn)
want=$((IDLE_CONNS + FD_HEADROOM))
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
  IDLE_CONNS=$((hard - FD_HEADROOM))
  say "descriptor limit $hard: IDLE_CONNS lowered to $IDLE_CONNS"
  want=$hard
fi
ulimit -n "$want"

read -r origin_port r307_port tiny_port squid_port ha307_port ha_port \
  relay_port <<<"$(free_ports 7)"

mkdir -p "$tmp/www" "$tmp/nginx/logs" "$tmp/nginx/tmp" "$tmp/squid"
head -c "$SMALL_BYTES" /dev/zero | tr '\0' 'a' >"$tmp/www/1k"
head -c "$LARGE_BYTES" /dev/zero | tr '\0' 'b' >"$tmp/www/1m"
chmod -R a+rX "$tmp/www"
sed -e "s|@TMP@|$tmp|g" -e "s|@WORKERS@|$WORKERS|g" \
  -e "s|@ORIGIN_PORT@|$origin_port|g" -e "s|@R307_PORT@|$r307_port|g" \
  "$here/nginx.conf.in" >"$tmp/nginx/nginx.conf"
sed -e "s|@TMP@|$tmp|g" -e "s|@PORT@|$tiny_port|g" \
  -e "s|@ORIGIN_PORT@|$origin_port|g" \
  "$here/tinyproxy.conf.in" >"$tmp/tinyproxy.conf"
sed -e "s|@TMP@|$tmp|g" -e "s|@PORT@|$squid_port|g" \
  -e "s|@ORIGIN_PORT@|$origin_port|g" \
  "$here/squid.conf.in" >"$tmp/squid/squid.conf"
sed -e "s|@TMP@|$tmp|g" -e "s|@WORKERS@|$WORKERS|g" \
  -e "s|@ORIGIN_PORT@|$origin_port|g" -e "s|@R307_PORT@|$ha307_port|g" \
  -e "s|@PROXY_PORT@|$ha_port|g" -e "s|@MAXCONN@|$((CONNS * 2 + 64))|g" \
  "$here/haproxy.cfg.in" >"$tmp/haproxy.cfg"
if [ "$(id -u)" -eq 0 ] && id proxy >/dev/null 2>&1; then
  chown -R proxy: "$tmp/squid" # Squid drops root for the proxy user
fi
cc -O2 -Wall -Wextra -pthread -o "$tmp/relay" "$here/relay.c" ||
  die "scripts/bench/relay.c: does not compile"

say "starting nginx (:$origin_port files, :$r307_port 307), tinyproxy" \
  "(:$tiny_port), squid (:$squid_port), haproxy (:$ha307_port 307," \
  ":$ha_port reverse proxy)"
start nginx nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
start haproxy haproxy -db -f "$tmp/haproxy.cfg"
start tinyproxy tinyproxy -d -c "$tmp/tinyproxy.conf"
start squid squid -N -f "$tmp/squid/squid.conf"
start relay "$tmp/relay" "$relay_port" "$origin_port"
wait_port nginx "$origin_port"
wait_port nginx "$r307_port"
wait_port tinyproxy "$tiny_port"
wait_port squid "$squid_port"
wait_port haproxy "$ha307_port"
wait_port haproxy "$ha_port"
wait_port relay "$relay_port"

db="$tmp/b.db"
"$bin" --db "$db" policy add up.test --include-subdomains >/dev/null
note_cmd "$bin --db $db policy add up.test --include-subdomains"
start ours "$bin" --db "$db" run --listen 127.0.0.1:0 --workers "$WORKERS" \
  --preload-refresh off \
  --map "bench.test=127.0.0.1:$origin_port" --connect-ports "$origin_port"
ours_port=$(wait_listening ours)
say "hstsproxy on :$ours_port"
base_port=""
if [ -n "$baseline" ]; then
  "$baseline" --db "$tmp/base.db" policy add up.test --include-subdomains \
    >/dev/null
  start base "$baseline" --db "$tmp/base.db" run --listen 127.0.0.1:0 \
    --workers "$WORKERS" --map "bench.test=127.0.0.1:$origin_port" \
    --connect-ports "$origin_port"
  base_port=$(wait_listening base)
  say "baseline hstsproxy on :$base_port"
fi
alog_port=""
if [ "${ACCESS_LOG:-0}" = 1 ]; then
  "$bin" --db "$tmp/alog.db" policy add up.test --include-subdomains \
    >/dev/null
  start alog "$bin" --db "$tmp/alog.db" run --listen 127.0.0.1:0 \
    --workers "$WORKERS" --map "bench.test=127.0.0.1:$origin_port" \
    --connect-ports "$origin_port" --access-log "$tmp/access.log"
  alog_port=$(wait_listening alog)
  say "hstsproxy with --access-log on :$alog_port"
fi

# --- sanity: every path answers what it should ---------------------------

small_url="http://127.0.0.1:$origin_port/1k"
large_url="http://127.0.0.1:$origin_port/1m"
origin_host="127.0.0.1:$origin_port"

# check_fetch KEYPREFIX PROXYPORT: a proxy forwards the 1 KiB file whole.
check_fetch() {
  local name=$1 pport=$2 got
  got=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{size_download}' \
    -x "127.0.0.1:$pport" "$small_url" 2>&1) || true
  if [ "$got" != "200 $SMALL_BYTES" ]; then
    echo "forwarding check failed: $got"
  fi
}

upgrade_na=""
head307=$(curl -sS --max-time 10 -D - -o /dev/null -x "127.0.0.1:$ours_port" \
  http://up.test/1k 2>&1 | tr -d '\r') || true
if ! printf '%s\n' "$head307" | head -n 1 | grep -q '^HTTP/1\.1 307 ' ||
  ! printf '%s\n' "$head307" | grep -qi '^Non-Authoritative-Reason: HSTS'; then
  upgrade_na="no internal upgrade yet (first answer: $(printf '%s' \
    "$head307" | head -n 1))"
  say "load 1: $upgrade_na"
fi
r307=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
  -H 'Host: up.test' "http://127.0.0.1:$r307_port/1k") || true
[ "$r307" = 307 ] || die "nginx 307 port answered '$r307'"
r307=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' \
  -H 'Host: up.test' "http://127.0.0.1:$ha307_port/1k") || true
[ "$r307" = "307 https://up.test/1k" ] ||
  die "HAProxy 307 port answered '$r307'"
got=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{size_download}' \
  "http://127.0.0.1:$relay_port/1m") || true
[ "$got" = "200 $LARGE_BYTES" ] || die "relay to the origin answered '$got'"
declare -A broken=()
for s in ours tinyproxy squid ${baseline:+base}; do
  port_var="${s}_port"
  [ "$s" = tinyproxy ] && port_var=tiny_port
  msg=$(check_fetch "$s" "${!port_var}")
  if [ -n "$msg" ]; then
    broken[$s]=$msg
    say "$s: $msg"
  fi
done

# --- loads ----------------------------------------------------------------

# run_server LOAD SERVER ROUND: one measurement.
run_server() {
  local load=$1 s=$2 r=$3 key="$1:$2:$3" close=0 url=$small_url
  if [ -n "${broken[$s]:-}" ]; then
    NA[$key]=${broken[$s]}
    return 0
  fi
  [ "$load" = 3 ] && url=$large_url
  [ "$load" = 4 ] && close=1
  case "$load:$s" in
    1:ours)
      wrk_load "$key" "$pid_ours" "$ours_port" http://up.test/1k up.test 0 ;;
    1:base)
      wrk_load "$key" "$pid_base" "$base_port" http://up.test/1k up.test 0 ;;
    1:ours-alog)
      wrk_load "$key" "$pid_alog" "$alog_port" http://up.test/1k up.test 0 ;;
    *:ours-alog) wrk_load "$key" "$pid_alog" "$alog_port" "$url" \
      "$origin_host" "$close" ;;
    1:nginx-307)
      wrk_load "$key" "$pid_nginx" "$r307_port" http://up.test/1k up.test 0 ;;
    1:haproxy-307) wrk_load "$key" "$pid_haproxy" "$ha307_port" \
      http://up.test/1k up.test 0 ;;
    *:haproxy) wrk_load "$key" "$pid_haproxy" "$ha_port" "/${url#http://*/}" \
      "$origin_host" "$close" ;;
    5:ours) tunnel_load "$key" "$pid_ours" "$ours_port" ;;
    5:base) tunnel_load "$key" "$pid_base" "$base_port" ;;
    5:tinyproxy) tunnel_load "$key" "$pid_tinyproxy" "$tiny_port" ;;
    5:squid) tunnel_load "$key" "$pid_squid" "$squid_port" ;;
    5:direct) tunnel_load "$key" "$pid_nginx" "" ;;
    5:relay) tunnel_load "$key" "$pid_relay" "" "$relay_port" ;;
    3:relay) wrk_load "$key" "$pid_relay" "$relay_port" "/${url#http://*/}" \
      "$origin_host" "$close" ;;
    *:ours) wrk_load "$key" "$pid_ours" "$ours_port" "$url" "$origin_host" \
      "$close" ;;
    *:base) wrk_load "$key" "$pid_base" "$base_port" "$url" "$origin_host" \
      "$close" ;;
    *:ours-name) wrk_load "$key" "$pid_ours" "$ours_port" \
      "http://bench.test/1k" bench.test "$close" ;;
    *:tinyproxy) wrk_load "$key" "$pid_tinyproxy" "$tiny_port" "$url" \
      "$origin_host" "$close" ;;
    *:squid) wrk_load "$key" "$pid_squid" "$squid_port" "$url" \
      "$origin_host" "$close" ;;
    *:direct) wrk_load "$key" "$pid_nginx" "$origin_port" "/${url#http://*/}" \
      "$origin_host" "$close" ;;
  esac
}

load_servers() {
  local b=${baseline:+base} a=""
  [ -z "$alog_port" ] || a=ours-alog
  case "$1" in
    1) echo "ours $a $b nginx-307 haproxy-307" ;;
    2) echo "ours $a $b ours-name tinyproxy squid haproxy direct" ;;
    3) echo "ours $b tinyproxy squid haproxy relay direct" ;;
    5) echo "ours $b tinyproxy squid relay direct" ;;
    *) echo "ours $b tinyproxy squid haproxy direct" ;;
  esac
}

loads=${LOADS:-"1 2 3 4 5"}
for load in $loads; do
  for r in $(seq 1 "$ROUNDS"); do
    for s in $(load_servers "$load"); do
      if [ "$load:$s" = 1:ours ] && [ -n "$upgrade_na" ]; then
        NA["$load:$s:$r"]=$upgrade_na
        continue
      fi
      say "load $load, $s, round $r"
      run_server "$load" "$s" "$r"
    done
  done
  for s in $(load_servers "$load"); do
    pick_median "$load" "$s"
  done
done
ours_stderr=$(grep -v 'listening on' "$tmp/ours.out" | head -n 5 || true)

# hop_records PORT: "W written, D dropped" from a hstsproxy's /metrics
# (every internal upgrade is to be a durable row: none dropped).
hop_records() {
  curl -sS --max-time 5 --noproxy '*' "http://127.0.0.1:$1/metrics" |
    awk -F'[{}" ]+' '/^hstsproxy_hop_records_total/ { n[$3] = $NF }
      END { printf "%d written, %d dropped", n["written"], n["dropped"] }'
}
declare -A HOPS=()
sleep 1 # the writers commit what the last load queued (every 100 ms)
HOPS[ours]=$(hop_records "$ours_port")
[ -z "$base_port" ] || HOPS[base]=$(hop_records "$base_port")
[ -z "$alog_port" ] || HOPS[ours-alog]=$(hop_records "$alog_port")
stop "$pid_ours"
[ -z "$pid_base" ] || stop "$pid_base"
alog_lines=""
if [ -n "$pid_alog" ]; then
  stop "$pid_alog"
  alog_lines=$(wc -l <"$tmp/access.log")
fi

# --- hstsproxy alone: preload list, start-up, idle connections -----------

say "preload list of $PRELOAD_HOSTS hosts: import, start-up, idle RSS"
python3 "$here/gen_preload.py" "$PRELOAD_HOSTS" >"$tmp/list.txt"
t0=$(date +%s%N)
"$bin" --db "$tmp/pre.db" preload import --force "$tmp/list.txt" \
  >"$tmp/import.out" 2>&1 ||
  die "preload import failed: $(cat "$tmp/import.out")"
import_ms=$((($(date +%s%N) - t0) / 1000000))
note_cmd "python3 scripts/bench/gen_preload.py $PRELOAD_HOSTS > $tmp/list.txt"
note_cmd "$bin --db $tmp/pre.db preload import --force $tmp/list.txt"

# startup_probe DB: "ms_median rss_kib line..."
startup_probe() {
  local out
  local -a cmd=(python3 "$here/startup.py" --runs "$STARTUP_RUNS" --
    "$bin" --db "$1" run --listen 127.0.0.1:0 --workers "$WORKERS"
    --preload-refresh off)
  note_cmd "${cmd[@]}"
  out=$("${cmd[@]}" 2>&1) || die "start-up probe: $out"
  echo "$(kv startup_ms_median "$(grep '^BENCH' <<<"$out")")" \
    "$(kv rss_kib_median "$(grep '^BENCH' <<<"$out")")" \
    "$(sed -n 's/^LINE hstsproxy: listening on [^ ]* (\(.*\))$/\1/p' \
      <<<"$out")"
}
read -r start_builtin_ms rss_builtin_kib list_builtin \
  <<<"$(startup_probe "$tmp/empty.db")"
read -r start_pre_ms rss_pre_kib list_pre <<<"$(startup_probe "$tmp/pre.db")"

# The built-in list on a fresh store: the first run creates the store, the
# later ones open it (the list is decoded from the binary every time).
say "built-in list: first run on a fresh store, then later runs"
first_probe() {
  local out
  local -a cmd=(python3 "$here/startup.py" --runs 1 -- "$bin" --db "$1" run
    --listen 127.0.0.1:0 --workers "$WORKERS" --preload-refresh off)
  note_cmd "${cmd[@]}"
  out=$("${cmd[@]}" 2>&1) || die "first-run probe: $out"
  kv startup_ms_median "$(grep '^BENCH' <<<"$out")"
}
start_first_ms=$(first_probe "$tmp/first.db")
read -r start_later_ms _ _ <<<"$(startup_probe "$tmp/first.db")"
builtin_hosts=$(sed -n 's/^[^ ]* \([0-9]*\) hosts.*/\1/p' <<<"$list_builtin")

say "$IDLE_CONNS idle keep-alive connections"
start idle "$bin" --db "$db" run --listen 127.0.0.1:0 --workers "$WORKERS" \
  --preload-refresh off \
  --max-conns $((IDLE_CONNS + FD_HEADROOM)) --timeout-idle 300 \
  --timeout-header 300
idle_port=$(wait_listening idle)
if [ -z "$upgrade_na" ]; then
  idle_req='GET http://up.test/ HTTP/1.1\r\nHost: up.test\r\n\r\n'
  idle_what="an internal 307"
else
  idle_req="GET / HTTP/1.1\\r\\nHost: 127.0.0.1:$idle_port\\r\\n\\r\\n"
  idle_what="the status page"
fi
idle_cmd=(python3 "$here/idle_conns.py" --proxy "127.0.0.1:$idle_port"
  --pid "$pid_idle" --count "$IDLE_CONNS" --request "$idle_req")
note_cmd "${idle_cmd[@]:0:9}" "'$idle_req'"
idle_out=$("${idle_cmd[@]}" 2>&1) || idle_out="FAILED $idle_out"
stop "$pid_idle"

if [ "$INTERCEPT" = 1 ]; then
  say "whole networks: --intercept-tls pass-through"
  intercept_section >"$tmp/intercept.md"
fi

# --- tables ---------------------------------------------------------------

ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || b + 0 == 0) print "n/a"
    else printf "%.2f", a / b }'
}

load_title() {
  case "$1" in
    1) echo "Load 1: internal 307, keep-alive (http://up.test/1k)" ;;
    2) echo "Load 2: forward 1 KiB, keep-alive both sides" ;;
    3) echo "Load 3: forward 1 MiB, keep-alive" ;;
    4) echo "Load 4: 1 KiB, one connection per request (Connection: close)" ;;
    5) echo "Load 5: CONNECT tunnel, one tunnel streaming the 1 MiB file" ;;
  esac
}

reference() { if [ "$1" = 1 ]; then echo nginx-307; else echo direct; fi; }
haproxy_of() { if [ "$1" = 1 ]; then echo haproxy-307; else echo haproxy; fi; }

server_table() {
  local load=$1 s key
  echo "### $(load_title "$load")"
  echo
  echo "| server | req/s | MiB/s | p50 ms | p99 ms | errors | CPU s |" \
    "CPU µs/req | peak RSS MiB | origin conns |"
  echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  for s in $(load_servers "$load"); do
    key="$load:$s"
    if [ -z "${THR[$key]:-}" ]; then
      echo "| $s | n/a: ${NA[$key]:-not measured} | | | | | | | | |"
      continue
    fi
    echo "| $s | ${THR[$key]} | ${MIB[$key]} | $(ms "${P50[$key]}") |" \
      "$(ms "${P99[$key]}") | ${ERR[$key]} | ${CPU[$key]} |" \
      "${CPUREQ[$key]} | $(mib "${RSS[$key]}") | ${ACCEPTS[$key]:-} |"
  done
  echo
  [ "$load" != 1 ] ||
    echo "- tinyproxy and Squid have no internal upgrade: n/a."
  [ "$load" != 5 ] || echo "- HAProxy does not tunnel CONNECT: not run."
  case "$load" in
    3) echo "- relay: scripts/bench/relay.c, splice(2) and nothing else," \
      "origin-form requests as direct." ;;
    5) echo "- relay: scripts/bench/relay.c, the stream relayed with" \
      "splice(2) and nothing else (no CONNECT)." ;;
  esac
  for s in $(load_servers "$load"); do
    if [ -n "${ERRTXT[$load:$s]:-}" ]; then
      echo "- $s errors (wrk): ${ERRTXT[$load:$s]}"
    fi
    case "$s" in
      ours* | base) [ -z "${THREADS_CPU[$load:$s]:-}" ] ||
        echo "- $s CPU s per thread: ${THREADS_CPU[$load:$s]}" ;;
    esac
  done
  echo
}

legend() {
  echo "Columns: CPU is the server's own (for proxies, not the origin's);"
  echo "peak RSS is the most resident memory during the load; origin conns"
  echo "counts the connections nginx accepted during it (for a proxy: how"
  echo "often it opened a new connection to the origin)."
  echo
}

ratio_table() {
  local load o ref peer fig a cells
  echo "### Ours as a ratio to the others (same run)"
  echo
  echo "Throughput above 1 and latency or CPU below 1 favour hstsproxy."
  echo "Throughput is MiB/s for loads 3 and 5, req/s otherwise; the"
  echo "reference is nginx's own \`return 307\` for load 1, the origin"
  echo "served directly for the others; ours/haproxy is against HAProxy's"
  echo "\`http-request redirect code 307\` for load 1 and HAProxy reverse-"
  echo "proxying the origin for loads 2 to 4 (it has no CONNECT: load 5 n/a);"
  echo "ours/relay is against the bare splice(2) relay (scripts/bench/relay.c)"
  echo "in front of the origin, loads 3 and 5: above 1 means hstsproxy moves"
  echo "the bytes for less than the least a relay can do."
  echo
  if [ -n "$baseline" ]; then
    echo "ours/base compares with BASELINE_BIN ($baseline) in the same run."
    echo
  fi
  echo "| load | figure | ours/tinyproxy | ours/squid | ours/haproxy |" \
    "ours/relay | ours/reference |${baseline:+ ours/base |}"
  echo "|---|---|--:|--:|--:|--:|--:|${baseline:+--:|}"
  for load in $loads; do
    o="$load:ours"
    ref=$(reference "$load")
    for fig in throughput p50 p99 cpu/req; do
      cells=""
      for peer in tinyproxy squid "$(haproxy_of "$load")" relay "$ref" \
        ${baseline:+base}; do
        case "$fig" in
          throughput)
            if [ "$load" = 3 ] || [ "$load" = 5 ]; then
              a=$(ratio "${MIB[$o]:-}" "${MIB[$load:$peer]:-}")
            else
              a=$(ratio "${THR[$o]:-}" "${THR[$load:$peer]:-}")
            fi ;;
          p50) a=$(ratio "${P50[$o]:-}" "${P50[$load:$peer]:-}") ;;
          p99) a=$(ratio "${P99[$o]:-}" "${P99[$load:$peer]:-}") ;;
          cpu/req) a=$(ratio "${CPUREQ[$o]:-}" "${CPUREQ[$load:$peer]:-}") ;;
        esac
        cells="$cells | $a"
      done
      echo "| $load | $fig$cells |"
    done
  done
  echo
}

# ACCESS_LOG=1: ours-alog against ours, round by round (each pair ran
# back to back, so a busy machine weighs on both alike).
alog_table() {
  local load r a b
  [ -n "$alog_port" ] || return 0
  echo "### The access log's cost (ours-alog/ours, per round)"
  echo
  echo "ours-alog is the same binary with \`--access-log FILE\` (squid"
  echo "format); it wrote $alog_lines lines in all."
  echo
  echo "| load | round | req/s ours | req/s ours-alog | ratio |" \
    "CPU µs/req ratio |"
  echo "|---|--:|--:|--:|--:|--:|"
  for load in $loads; do
    [ "$load" = 1 ] || [ "$load" = 2 ] || continue
    for r in $(seq 1 "$ROUNDS"); do
      a="$load:ours-alog:$r" b="$load:ours:$r"
      echo "| $load | $r | ${THR[$b]:-n/a} | ${THR[$a]:-n/a} |" \
        "$(ratio "${THR[$a]:-}" "${THR[$b]:-}") |" \
        "$(ratio "${CPUREQ[$a]:-}" "${CPUREQ[$b]:-}") |"
    done
  done
  echo
}

# row LABEL... VALUE: one two-column table row.
row() {
  local value=${*: -1} label=${*:1:$#-1}
  echo "| $label | $value |"
}

alone_table() {
  local base conn req closed opened answered
  echo "### hstsproxy alone"
  echo
  echo "| figure | value |"
  echo "|---|--:|"
  row "idle RSS, builtin list ($list_builtin)" \
    "$(mib "$rss_builtin_kib") MiB"
  row "idle RSS, synthetic list ($list_pre)" "$(mib "$rss_pre_kib") MiB"
  echo "| RSS per preloaded host | $(awk -v a="$rss_pre_kib" \
    -v b="$rss_builtin_kib" -v n="$PRELOAD_HOSTS" -v m="${builtin_hosts:-0}" \
    'BEGIN { printf "%.0f", (a - b) * 1024 / (n - m) }') bytes |"
  row "start-up to listening line, builtin list (median of" \
    "$STARTUP_RUNS)" "$start_builtin_ms ms"
  row "start-up to listening line, $PRELOAD_HOSTS hosts (median of" \
    "$STARTUP_RUNS)" "$start_pre_ms ms"
  row "first run on a fresh store, built-in list (bound: 2 s)" \
    "$start_first_ms ms"
  row "later runs, built-in list (median of $STARTUP_RUNS; bound: 300 ms)" \
    "$start_later_ms ms"
  echo "| \`preload import\` of $PRELOAD_HOSTS hosts | $import_ms ms |"
  if [ "${idle_out#FAILED}" != "$idle_out" ]; then
    echo "| $IDLE_CONNS idle connections | n/a: ${idle_out#FAILED } |"
  else
    opened=$(kv opened "$idle_out")
    answered=$(kv answered "$idle_out")
    base=$(kv base_kib "$idle_out")
    conn=$(kv connected_kib "$idle_out")
    req=$(kv requested_kib "$idle_out")
    closed=$(kv closed_kib "$idle_out")
    echo "| RSS before the connections | $(mib "$base") MiB |"
    row "RSS with $opened connections accepted, no request yet" \
      "$(mib "$conn") MiB"
    row "RSS after one request each ($answered answered: $idle_what)," \
      "idle keep-alive" "$(mib "$req") MiB"
    echo "| bytes per connection, accepted | $(awk -v a="$conn" -v b="$base" \
      -v n="$opened" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }') |"
    echo "| bytes per connection, idle keep-alive after a request | $(awk \
      -v a="$req" -v b="$base" -v n="$opened" \
      'BEGIN { printf "%.0f", (a - b) * 1024 / n }') |"
    echo "| RSS after closing them all | $(mib "$closed") MiB |"
  fi
  echo
}

machine() {
  local rev dirty=""
  rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$top" status --porcelain 2>/dev/null)" ]; then
    dirty="+dirty"
  fi
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), \`$invocation\`"
  echo "- commit: \`$rev$dirty\`"
  echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -n 1), Linux $(uname -r), load average at the" \
    "end $(cut -d ' ' -f 1-3 /proc/loadavg)"
  echo "- servers: $("$bin" --version 2>&1 | head -n 1)," \
    "$(nginx -v 2>&1 | sed 's/.*: //'), HAProxy $(haproxy -v |
    awk 'NR == 1 { print $3 }'), tinyproxy $(tinyproxy -v 2>&1 |
    awk '{ print $2 }'), Squid $(squid -v | sed -n '1s/.*Version //p')," \
    "wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
  echo "- settings: DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS" \
    "CONNS=$CONNS WORKERS=$WORKERS ROUNDS=$ROUNDS" \
    "PRELOAD_HOSTS=$PRELOAD_HOSTS IDLE_CONNS=$IDLE_CONNS"
  for s in ours ours-alog base; do
    [ -z "${HOPS[$s]:-}" ] || echo "- hop records of $s (all loads): ${HOPS[$s]}"
  done
  [ "$hwm_reset_ok" = 1 ] ||
    echo "- peak RSS could not be reset between loads: peak since start"
  if [ -n "$ours_stderr" ]; then
    echo "- hstsproxy said during the loads:"
    # shellcheck disable=SC2016
    printf '%s\n' "$ours_stderr" | sed 's/^/  `/; s/$/`/'
  fi
  echo
}

results() {
  echo "## Results"
  echo
  machine
  legend
  for load in $loads; do
    server_table "$load"
  done
  ratio_table
  alog_table
  alone_table
  [ ! -f "$tmp/intercept.md" ] || cat "$tmp/intercept.md"
  echo "### Commands of this run"
  echo
  echo "\`\$TMP\` is the temp dir; configs from scripts/bench/*.in."
  echo
  echo '```'
  awk '!seen[$0]++' "$tmp/commands.txt"
  echo '```'
}

results >"$tmp/results.md"
cat "$tmp/results.md"

if [ "$DOC" != - ]; then
  if [ -f "$DOC" ] && grep -qF "$MARKER" "$DOC"; then
    sed "/^$(printf '%s' "$MARKER" | sed 's/[][\/.*^$]/\\&/g')\$/q" "$DOC" \
      >"$tmp/doc.md"
  else
    cp "$here/intro.md" "$tmp/doc.md"
    echo "$MARKER" >>"$tmp/doc.md"
  fi
  { echo; cat "$tmp/results.md"; } >>"$tmp/doc.md"
  cat "$tmp/doc.md" >"$DOC"
  say "wrote $DOC"
fi
