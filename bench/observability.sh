#!/usr/bin/env bash
# What metrics and the access log cost: the same host with both ON beside
# itself with both OFF, in the same run; and, for scale, what nginx's own
# access log costs nginx on the same machine.
#
#   bench/observability.sh [BUILD_DIR]        (default: build)
#
# Starts two `trellis serve` processes with one I/O thread each on the bench
# plugin `ping` (GET /ping/ -> a 33-byte JSON body, as bench/http.sh):
#   off  TRELLIS_METRICS_ENABLED=false, no access log
#   on   metrics on (the default) and [logging] access_log to a file in
#        ACCESS_LOG_DIR (default: BUILD_DIR/bench-observability, on the local
#        disk; not /tmp, which may be memory)
# and two nginx (one worker each, as in bench/http.sh) serving the same bytes:
#   nginx-off  access_log off
#   nginx-on   access_log in ACCESS_LOG_DIR, nginx's default "combined"
#              format (about 90 bytes a line, a third of Trellis's JSON line)
#              through a 64 KiB buffer: the cheapest access log nginx offers
# It does so ROUNDS times, each round with fresh processes: it warms each up,
# runs the same wrk command against each (in turn, the order reversed every
# other round) and stops them. It prints requests/s, p99 latency and the
# server's CPU time per request for every run, then the medians, and from
# each round's pair of runs the ratio on / off of requests/s and the cost:
# how much more CPU time a request takes with both on (the median of the
# rounds, and their range). Target (issue 7): Trellis's cost is at most
# 5 %. CPU time per request is the verdict because it holds on a busy
# machine, where requests/s mostly measures how often the scheduler lets a
# server run; on an idle machine both figures agree. nginx's cost is printed
# beside it and judged by nothing.
#
# It checks that the access log has one line per request wrk made, and the
# dropped-lines counter on /metrics.
#
# Exits 0 when the target is met, 1 when it is missed, 2 when it could not
# run. Every server is stopped on every exit. The environment tunes the run:
#   DURATION=8s CONNECTIONS=32 WRK_THREADS=1 ROUNDS=6 WARMUP=2s
#   PIN=1 SERVER_CPUS=0 CLIENT_CPUS=1 NICE=-20   as in bench/http.sh
#   TARGET=5         the most CPU cost allowed, in percent
#   ON_METRICS=0     the 'on' server without metrics (the access log alone)
#   ON_ACCESS_LOG=0  the 'on' server without the access log (metrics alone)
#   NGINX=0          leave nginx out (half the time)
#   ACCESS_LOG_DIR   where the access logs go (emptied first, removed after unless KEEP=1)
#   KEEP=1           keep the temporary directory and the access logs
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$root/build}
duration=${DURATION:-8s}
connections=${CONNECTIONS:-32}
wrk_threads=${WRK_THREADS:-1}
rounds=${ROUNDS:-6}
warmup=${WARMUP:-2s}
target=${TARGET:-5}
with_nginx=${NGINX:-1}

bench_name=observability.sh
source "$root/bench/lib.sh"

build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || die "build directory '${1:-build}' not found; run 'make build' first"
trellis=$build_dir/bin/trellis
plugin_dir=$build_dir/bench/http-plugins
[[ -x $trellis ]] || die "$trellis not found; build first (make build)"
[[ -f $plugin_dir/bench_ping.so ]] || die "$plugin_dir/bench_ping.so not found; build with -DTRELLIS_BUILD_BENCH=ON"
tools=(wrk curl)
[[ $with_nginx == 1 ]] && tools+=(nginx python3)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || die "$tool not found; run 'scripts/install-deps --bench'"
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$rounds'"
[[ $target =~ ^[0-9]+([.][0-9]+)?$ ]] || die "TARGET must be a percentage such as 5, not '$target'"
[[ $with_nginx == 0 || $with_nginx == 1 ]] || die "NGINX must be 0 or 1, not '$with_nginx'"

work=$(mktemp -d "${TMPDIR:-/tmp}/trellis-observability-bench.XXXXXX")
# nginx's worker drops root privileges; it must be able to read the file it serves.
chmod 755 "$work"
mkdir -p "$work/www/ping"
log_dir=${ACCESS_LOG_DIR:-$build_dir/bench-observability}
mkdir -p "$log_dir"
access_log=$log_dir/access.log
nginx_log=$log_dir/nginx-access.log
rm -f "$access_log" "$nginx_log"
declare -A pid port url

cleanup() {
  for s in "${!pid[@]}"; do stop_pid "${pid[$s]}"; done
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "observability.sh: keeping $work, $access_log and $nginx_log" >&2
  else
    rm -rf "$work"
    rm -f "$access_log" "$nginx_log"
  fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# start NAME ENV...: `trellis serve` on a free port with these variables.
start() {
  local name=$1
  shift
  (
    cd "$work"
    unset TRELLIS_CONFIG TRELLIS_PLUGIN_PATH
    # Both alike: the auth store in the scratch directory, and requests
    # without credentials acting as admin, who may read /metrics (127.0.0.1 only).
    export TRELLIS_SERVER_THREADS=1 TRELLIS_DATA_DIR="$work/$name-data" TRELLIS_AUTH_ANONYMOUS_ROLE=admin "$@"
    exec "${server_launch[@]}" "$trellis" --no-default-plugins --plugin-dir "$plugin_dir" \
      serve --listen 127.0.0.1:0 >"$work/$name.out" 2>"$work/$name.log"
  ) &
  pid[$name]=$!
  local p=""
  for _ in $(seq 100); do
    p=$(sed -n 's|^Trellis is listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$work/$name.out" 2>/dev/null || true)
    [[ -n $p ]] && break
    kill -0 "${pid[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $p ]] || die "trellis serve ($name) did not start: $(cat "$work/$name.log")"
  [[ $(readlink "/proc/${pid[$name]}/exe") == "$(readlink -f "$trellis")" ]] || die "lost track of trellis ($name)"
  port[$name]=$p
  url[$name]=http://127.0.0.1:$p/ping/
}

# stop NAME: ends that server; Trellis writes what it has queued first.
stop() {
  kill -0 "${pid[$1]}" 2>/dev/null || die "$1 exited during the run: $(cat "$work/$1.log" 2>/dev/null)"
  stop_pid "${pid[$1]}"
  unset "pid[$1]"
}

# ON_ACCESS_LOG=0 (or ON_METRICS=0) measures one of the two alone.
on_access_log=$access_log
[[ ${ON_ACCESS_LOG:-1} == 0 ]] && on_access_log=off
on_metrics=true
[[ ${ON_METRICS:-1} == 0 ]] && on_metrics=false

servers=(on off)
[[ $with_nginx == 1 ]] && servers+=(nginx-on nginx-off)

# Starts every server afresh and checks they are what they claim to be.
start_all() {
  start off TRELLIS_METRICS_ENABLED=false TRELLIS_LOGGING_ACCESS_LOG=off
  start on TRELLIS_METRICS_ENABLED=$on_metrics TRELLIS_METRICS_ON_MAIN_LISTENER=true TRELLIS_LOGGING_ACCESS_LOG="$on_access_log"
  curl -sS --fail -o "$work/body-on" "${url[on]}" || die "GET ${url[on]} failed"
  curl -sS --fail -o "$work/body-off" "${url[off]}" || die "GET ${url[off]} failed"
  cmp -s "$work/body-on" "$work/body-off" || die "the two servers answer different bodies"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port[off]}/metrics") == 404 ]] ||
    die "metrics are not off on the 'off' server"
  local metrics_page
  metrics_page=$(curl -s "http://127.0.0.1:${port[on]}/metrics")
  [[ $on_metrics == false ]] || grep -q '^trellis_http_requests_total' <<<"$metrics_page" ||
    die "metrics are not on on the 'on' server"
  checks=$((checks + 3))  # GET /ping/ and /metrics now, /metrics for the dropped count at the end
  [[ $with_nginx == 1 ]] || return 0
  cp "$work/body-on" "$work/www/ping/index.json"
  chmod 644 "$work/www/ping/index.json"
  local n
  for n in nginx-on nginx-off; do
    local log=off
    [[ $n == nginx-on ]] && log=$nginx_log
    start_nginx "$n" "$work/www" "$log"
    pid[$n]=${nginx_pid[$n]}
    url[$n]=${nginx_url[$n]}
    curl -sS --fail -o "$work/body-$n" "${url[$n]}" || die "GET ${url[$n]} failed"
    cmp -s "$work/body-$n" "$work/body-on" || die "$n and Trellis answer different bodies"
  done
}

# The process whose CPU time counts: nginx's worker, Trellis itself.
cpu_pid() {
  if [[ $1 == nginx-* ]]; then echo "${nginx_worker[$1]}"; else echo "${pid[$1]}"; fi
}

echo "observability.sh: $("$trellis" --version | head -n 1); access log $access_log;" \
  "wrk -t$wrk_threads -c$connections -d$duration, $rounds rounds (warm-up $warmup each);" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Every round starts the servers afresh: in runs of the same server on both
# sides, one process stayed up to 4 % slower than the other for its whole
# life (where its memory landed), which alternating the order cannot undo.
results=$work/results.txt
: >"$results"
requests_on=0
checks=0
dropped=0
for ((r = 1; r <= rounds; ++r)); do
  start_all
  order=("${servers[@]}")
  if ((r % 2 == 0)); then
    order=()
    for ((i = ${#servers[@]} - 1; i >= 0; --i)); do order+=("${servers[i]}"); done
  fi
  for s in "${order[@]}"; do
    p=$(cpu_pid "$s")
    line=$(measure "${url[$s]}" "$p" "$warmup" "$work/warmup$r-$s.txt")
    [[ $s == on ]] && requests_on=$((requests_on + $(echo "$line" | cut -d' ' -f4)))
    line=$(measure "${url[$s]}" "$p" "$duration" "$work/round$r-$s.txt")
    [[ $s == on ]] && requests_on=$((requests_on + $(echo "$line" | cut -d' ' -f4)))
    echo "$r $s $line" >>"$results"
    printf 'observability.sh: round %d %-9s %9s req/s  p99 %8s ms  %7s us CPU/request\n' "$r" "$s" \
      $(echo "$line" | cut -d' ' -f1-3) >&2
  done
  d=$(curl -s "http://127.0.0.1:${port[on]}/metrics" | awk '/^trellis_access_log_dropped_total / { print $2 }')
  dropped=$((dropped + ${d:-0}))
  for s in "${servers[@]}"; do stop "$s"; done
done

# The access log holds a line per request (wrk's, plus the curl checks), less
# what was dropped.
lines=0
[[ -f $access_log ]] && lines=$(wc -l <"$access_log")
echo "observability.sh: access log: $lines lines for $requests_on wrk requests (+$checks checks), $dropped dropped;" \
  "$(du -h "$access_log" 2>/dev/null | cut -f1) on $(df --output=fstype "$log_dir" | tail -n 1)" >&2
if [[ $with_nginx == 1 && -f $nginx_log ]]; then
  echo "observability.sh: nginx's access log: $(wc -l <"$nginx_log") lines, $(du -h "$nginx_log" | cut -f1)" >&2
fi

awk -v target="$target" -v rounds="$rounds" '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; ++i) for (j = i; j > 1 && a[j - 1] > a[j]; --j) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function lo(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; ++i) if (a[i] < m) m = a[i]; return m }
  function hi(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; ++i) if (a[i] > m) m = a[i]; return m }
  { s = $2; k = ++n[s]; rps[s, k] = $3; p99[s, k] = $4; cpu[s, k] = $5 }
  END {
    split("on off nginx-on nginx-off", names, " ")
    label["on"] = "Trellis, metrics + access log ON"
    label["off"] = "Trellis, both OFF (peer)"
    label["nginx-on"] = "nginx, access log ON"
    label["nginx-off"] = "nginx, access log OFF"
    for (x = 1; x <= 4; ++x) {
      s = names[x]
      if (!(s in n)) continue
      for (i = 1; i <= rounds; ++i) { a[i] = rps[s, i]; b[i] = p99[s, i]; c[i] = cpu[s, i] }
      R[s] = median(a, rounds); P[s] = median(b, rounds); C[s] = median(c, rounds)
      printf "%-34s %10.0f req/s   p99 %7.3f ms   CPU %6.2f us/req\n", label[s], R[s], P[s], C[s]
    }
    # The costs compare the two runs of a round, which ran one after the
    # other: the load of the machine drifts between rounds far more than within one.
    for (i = 1; i <= rounds; ++i) { q[i] = rps["on", i] / rps["off", i]; d[i] = (cpu["on", i] / cpu["off", i] - 1) * 100 }
    printf "%-34s %10.3fx  (median of %d rounds)\n", "ratio req/s ON / OFF", median(q, rounds), rounds
    cost = median(d, rounds)
    printf "%-34s %+9.1f %%  (median of the rounds; %+.1f to %+.1f)\n", "cost: CPU per request ON vs OFF", cost, lo(d, rounds), hi(d, rounds)
    if ("nginx-on" in n) {
      for (i = 1; i <= rounds; ++i) { q[i] = rps["nginx-on", i] / rps["nginx-off", i]; d[i] = (cpu["nginx-on", i] / cpu["nginx-off", i] - 1) * 100 }
      printf "%-34s %+9.1f %%  (%+.1f to %+.1f; ratio req/s %.3fx)\n", "nginx: its access log costs it", \
        median(d, rounds), lo(d, rounds), hi(d, rounds), median(q, rounds)
    }
    if (cost <= target) { printf "observability.sh: PASS (target: at most %s %%)\n", target; exit 0 }
    printf "observability.sh: FAIL (target: at most %s %%)\n", target; exit 1
  }' "$results"
