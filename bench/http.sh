#!/usr/bin/env bash
# Requests per second of a small plugin page, Trellis beside nginx.
#
#   bench/http.sh [BUILD_DIR]        (default: build)
#
# Starts `trellis serve` with one I/O thread on the bench plugin `ping`
# (GET /ping/ -> a 33-byte JSON body), reads that body from it, and starts an
# nginx of its own (Debian package, one worker, access log off, its own config
# and pid file in a temporary directory, on a free 127.0.0.1 port) that serves
# a file with the same bytes and the same Content-Type at the same path. Then
# it runs the same wrk command against each, ROUNDS times, alternating which
# goes first, and prints requests/s, p99 latency and server CPU time per
# request for every run, the medians and the ratio Trellis / nginx of the
# median requests/s. Target (issue 3): the ratio is at least 1.0.
#
# Both servers and wrk are started the same way: pinned (servers on one CPU,
# wrk on another) and, with NICE, given priority. CPU time per request is the
# server process's own (utime + stime), so it holds on a busy machine, where
# requests/s mostly measures how often the scheduler lets the server run.
#
# Exits 0 when the target is met, 1 when it is missed, 2 when it could not
# run. Both servers are stopped on every exit. The environment tunes the run:
#   DURATION=10s CONNECTIONS=32 WRK_THREADS=1 ROUNDS=3 WARMUP=2s
#   PIN=1            pin the servers to SERVER_CPUS (default 0) and wrk to
#                    CLIENT_CPUS (default 1) with taskset; PIN=0 lets them float
#   NICE=-20         run each server and wrk in a session of its own whose
#                    autogroup has this nice value (negative values need root):
#                    on a machine busy with other work, they then get their CPUs
#   TARGET=1.0       the ratio to reach
#   NGINX_EXTRA='…'  more directives for nginx's http block (default: none)
#   KEEP=1           keep the temporary directory (configs, logs, wrk output)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$root/build}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
wrk_threads=${WRK_THREADS:-1}
rounds=${ROUNDS:-3}
warmup=${WARMUP:-2s}
target=${TARGET:-1.0}

bench_name=http.sh
source "$root/bench/lib.sh"

build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || die "build directory '${1:-build}' not found; run 'make build' first"
trellis=$build_dir/bin/trellis
plugin_dir=$build_dir/bench/http-plugins
[[ -x $trellis ]] || die "$trellis not found; build first (make build)"
[[ -f $plugin_dir/bench_ping.so ]] || die "$plugin_dir/bench_ping.so not found; build with -DTRELLIS_BUILD_BENCH=ON"
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || die "$tool not found; run 'scripts/install-deps --bench'"
done
nginx_bin=$(command -v nginx)
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$rounds'"

work=$(mktemp -d "${TMPDIR:-/tmp}/trellis-http-bench.XXXXXX")
# nginx's worker drops root privileges; it must be able to read the file.
chmod 755 "$work"
mkdir -p "$work/www/ping"
trellis_pid=""

cleanup() {
  stop_pid "$trellis_pid"
  stop_pid "${nginx_pid[nginx]:-}"
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "http.sh: keeping $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# -- Trellis ------------------------------------------------------------------
# Port 0: the kernel picks a free port, and serve prints it.
(
  cd "$work"
  export TRELLIS_SERVER_THREADS=1
  unset TRELLIS_CONFIG TRELLIS_PLUGIN_PATH
  # The server's user store and audit log in the scratch directory; requests
  # come without credentials, as an anonymous admin (sign-in is not measured).
  export TRELLIS_DATA_DIR="$work" TRELLIS_AUTH_ANONYMOUS_ROLE=admin
  exec "${server_launch[@]}" "$trellis" --no-default-plugins --plugin-dir "$plugin_dir" \
    serve --listen 127.0.0.1:0 >"$work/trellis.out" 2>"$work/trellis.log"
) &
trellis_pid=$!
trellis_port=""
for _ in $(seq 100); do
  trellis_port=$(sed -n 's|^Trellis is listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$work/trellis.out")
  [[ -n $trellis_port ]] && break
  kill -0 "$trellis_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $trellis_port ]]; then
  cat "$work/trellis.log" >&2
  die "trellis serve did not start"
fi
grep -q "with 1 I/O thread(s)" "$work/trellis.log" || die "trellis serve is not running one I/O thread: $(cat "$work/trellis.log")"
[[ $(readlink "/proc/$trellis_pid/exe") == "$(readlink -f "$trellis")" ]] || die "lost track of the trellis process"
trellis_url=http://127.0.0.1:$trellis_port/ping/

# The file nginx serves is what Trellis answers, byte for byte.
trellis_type=$(curl -sS --fail -o "$work/www/ping/index.json" -w '%{content_type}' "$trellis_url") ||
  die "GET $trellis_url failed"
[[ $trellis_type == application/json ]] || die "GET $trellis_url answered Content-Type '$trellis_type', expected application/json"
chmod 644 "$work/www/ping/index.json"

# -- nginx --------------------------------------------------------------------
start_nginx nginx "$work/www" off
ngx_url=${nginx_url[nginx]}
ngx_worker=${nginx_worker[nginx]}
nginx_type=$(curl -sS --fail -o "$work/nginx.body" -w '%{content_type}' "$ngx_url") ||
  die "GET $ngx_url failed: $(cat "$work/nginx/error.log")"
cmp -s "$work/nginx.body" "$work/www/ping/index.json" || die "nginx and Trellis answer different bodies"
[[ $nginx_type == "$trellis_type" ]] || die "nginx answers Content-Type '$nginx_type', Trellis '$trellis_type'"

response_size() {  # bytes of one full response, headers included
  curl -sS -o /dev/null -w '%{size_header} + %{size_download}' "$1"
}
echo "http.sh: Trellis $("$trellis" --version | head -n 1) on $trellis_url (pid $trellis_pid," \
  "response $(response_size "$trellis_url") bytes)" >&2
echo "http.sh: $("$nginx_bin" -v 2>&1 | sed 's|^nginx version: ||') on $ngx_url (worker pid $ngx_worker," \
  "response $(response_size "$ngx_url") bytes)" >&2

# -- load ---------------------------------------------------------------------
echo "http.sh: wrk -t$wrk_threads -c$connections -d$duration --latency URL, $rounds rounds" \
  "(warm-up $warmup each); servers on CPU ${SERVER_CPUS:-0}, wrk on CPU ${CLIENT_CPUS:-1}" \
  "(PIN=${PIN:-1}), NICE=${nice_value:-unset}; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [[ -z $nice_value ]] && awk -v n="$(nproc)" '{ exit !($1 > n) }' /proc/loadavg; then
  echo "http.sh: the machine is busy: requests/s will mostly measure the scheduler; as root," \
    "NICE=-20 gives the servers and wrk their cores (CPU us/request is reliable either way)" >&2
fi
measure "$trellis_url" "$trellis_pid" "$warmup" "$work/warmup-trellis.txt" >/dev/null
measure "$ngx_url" "$ngx_worker" "$warmup" "$work/warmup-nginx.txt" >/dev/null

results=$work/results.txt
: >"$results"
for ((r = 1; r <= rounds; ++r)); do
  # Alternate who goes first, so a drift in the machine's load favours neither.
  order=(trellis nginx)
  ((r % 2 == 0)) && order=(nginx trellis)
  for server in "${order[@]}"; do
    if [[ $server == trellis ]]; then
      line=$(measure "$trellis_url" "$trellis_pid" "$duration" "$work/round$r-trellis.txt")
    else
      line=$(measure "$ngx_url" "$ngx_worker" "$duration" "$work/round$r-nginx.txt")
    fi
    echo "$r $server $line" >>"$results"
    printf 'http.sh: round %d %-7s %9s req/s  p99 %8s ms  %7s us CPU/request\n' "$r" "$server" \
      $(echo "$line" | cut -d' ' -f1-3) >&2
  done
done
kill -0 "$trellis_pid" 2>/dev/null || die "trellis serve exited during the run: $(cat "$work/trellis.log")"

# -- report -------------------------------------------------------------------
awk -v target="$target" -v rounds="$rounds" '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; ++i) for (j = i; j > 1 && a[j - 1] > a[j]; --j) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function lo(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; ++i) if (a[i] < m) m = a[i]; return m }
  function hi(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; ++i) if (a[i] > m) m = a[i]; return m }
  { s = $2; k = ++n[s]; rps[s, k] = $3; p99[s, k] = $4; cpu[s, k] = $5 }
  END {
    for (i = 1; i <= rounds; ++i) r[i] = rps["trellis", i] / rps["nginx", i]
    for (srv = 0; srv < 2; ++srv) {
      s = srv == 0 ? "trellis" : "nginx"
      for (i = 1; i <= rounds; ++i) { a[i] = rps[s, i]; b[i] = p99[s, i]; c[i] = cpu[s, i] }
      R[s] = median(a, rounds); Rlo[s] = lo(a, rounds); Rhi[s] = hi(a, rounds)
      P[s] = median(b, rounds); Plo[s] = lo(b, rounds); Phi[s] = hi(b, rounds)
      C[s] = median(c, rounds); Clo[s] = lo(c, rounds); Chi[s] = hi(c, rounds)
    }
    row = "%-26s %10.0f req/s  (%.0f-%.0f)   p99 %7.3f ms (%.3f-%.3f)   CPU %6.2f us/req (%.2f-%.2f)\n"
    printf row, "Trellis, 1 I/O thread", R["trellis"], Rlo["trellis"], Rhi["trellis"], P["trellis"], Plo["trellis"], Phi["trellis"], C["trellis"], Clo["trellis"], Chi["trellis"]
    printf row, "nginx, 1 worker (peer)", R["nginx"], Rlo["nginx"], Rhi["nginx"], P["nginx"], Plo["nginx"], Phi["nginx"], C["nginx"], Clo["nginx"], Chi["nginx"]
    printf "%-26s %10.2fx       (per round %.2f-%.2f; medians of %d rounds, min-max in brackets)\n", \
      "ratio Trellis / nginx", R["trellis"] / R["nginx"], lo(r, rounds), hi(r, rounds), rounds
    printf "%-26s %10.2fx\n", "CPU per request T / n", C["trellis"] / C["nginx"]
    if (R["trellis"] / R["nginx"] >= target) { printf "http.sh: PASS (target: at least %.2fx)\n", target; exit 0 }
    printf "http.sh: FAIL (target: at least %.2fx)\n", target; exit 1
  }' "$results"
