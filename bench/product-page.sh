#!/usr/bin/env bash
# Latency of the product-analytics app's product page on the demo data.
#
#   bench/product-page.sh [BUILD_DIR]        (default: build)
#
# Writes the demo database (`trellis demo init`, default seed) into a
# temporary directory and starts `trellis serve` on it with only the plugins
# the page needs (sqlite, charts, product-analytics), SERVER_THREADS I/O
# threads, on a free 127.0.0.1 port. It checks that a product page answers
# 200 with the product's name, then has wrk request a set of product pages in
# turn: every STEP-th product id from 1 to 500 (default 5: 100 pages, from
# the best seller with ~3,000 order lines to products with a few dozen), with
# the default date range, which is the whole data. After a warm-up it prints
# the median, 95th and 99th percentile latency, requests/s and the server's
# CPU time per request. Target: p95 below TARGET_MS (default 20) ms.
#
# Latency needs the CPUs: on a machine busy with other work (compilers, other
# benchmarks at a higher priority) the tail measures the scheduler. As root,
# NICE=-20 runs the server and wrk each in a session of its own with that
# nice value, as bench/http.sh does.
#
# Exits 0 when the target is met (PASS), 1 when it is missed (MISSED), 2 when
# it could not run. The server is stopped on every exit. The environment
# tunes the run:
#   DURATION=10s WARMUP=3s CONNECTIONS=2 WRK_THREADS=1 SERVER_THREADS=2 STEP=5 TARGET_MS=20
#   NICE=    e.g. -20: the priority of the server and wrk (negative values need root)
#   KEEP=1   keep the temporary directory (database, config, logs, wrk output)
set -euo pipefail
shopt -s inherit_errexit

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$root/build}
duration=${DURATION:-10s}
warmup=${WARMUP:-3s}
connections=${CONNECTIONS:-2}
wrk_threads=${WRK_THREADS:-1}
server_threads=${SERVER_THREADS:-2}
step=${STEP:-5}
target_ms=${TARGET_MS:-20}

die() {
  echo "product-page.sh: $*" >&2
  exit 2
}

build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || die "build directory '${1:-build}' not found; run 'make build' first"
trellis=$build_dir/bin/trellis
plugin_dir=$build_dir/lib/trellis/plugins
[[ -x $trellis ]] || die "$trellis not found; build first (make build)"
for plugin in sqlite charts product_analytics; do
  [[ -f $plugin_dir/$plugin.so ]] || die "$plugin_dir/$plugin.so not found; build the '$plugin' target (make build)"
done
for tool in wrk curl; do
  command -v "$tool" >/dev/null || die "$tool not found; run 'scripts/install-deps --bench'"
done
for v in connections wrk_threads server_threads step target_ms; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v^^} must be a positive integer, not '${!v}'"
done
# With NICE, each of the server and wrk runs in a session of its own whose
# autogroup gets that nice value: under autogroup scheduling plain nice only
# ranks a process within its own session.
launch=()
nice_value=${NICE:-}
if [[ -n $nice_value ]]; then
  [[ $nice_value =~ ^-?[0-9]+$ ]] || die "NICE must be a number from -20 to 19, not '$nice_value'"
  launch=(setsid sh -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' "$nice_value")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/trellis-product-page.XXXXXX")
trellis_pid=""
cleanup() {
  if [[ -n $trellis_pid ]] && kill -0 "$trellis_pid" 2>/dev/null; then
    kill -TERM "$trellis_pid" 2>/dev/null || true
    wait "$trellis_pid" 2>/dev/null || true
  fi
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "product-page.sh: keeping $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# -- the data and the server --------------------------------------------------
env -u TRELLIS_CONFIG "$trellis" demo init --path "$work/demo.db" >"$work/demo-init.txt" ||
  die "trellis demo init failed: $(cat "$work/demo-init.txt")"
mkdir "$work/plugins"
for plugin in sqlite charts product_analytics; do
  ln -s "$plugin_dir/$plugin.so" "$work/plugins/$plugin.so"
done
cat >"$work/trellis.toml" <<TOML
# Written by bench/product-page.sh.
[server]
threads = $server_threads

[sources.demo]
plugin = "sqlite"
path = "demo.db"
read_only = true
TOML

(
  cd "$work"
  unset TRELLIS_CONFIG TRELLIS_PLUGIN_PATH
  # The server's user store and audit log in the scratch directory; requests
  # come without credentials, as an anonymous admin (sign-in is not measured).
  export TRELLIS_DATA_DIR="$work" TRELLIS_AUTH_ANONYMOUS_ROLE=admin
  exec "${launch[@]}" "$trellis" --config "$work/trellis.toml" --no-default-plugins --plugin-dir "$work/plugins" \
    serve --listen 127.0.0.1:0 >"$work/trellis.out" 2>"$work/trellis.log"
) &
trellis_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|^Trellis is listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$work/trellis.out")
  [[ -n $port ]] && break
  kill -0 "$trellis_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $port ]] || die "trellis serve did not start: $(cat "$work/trellis.log")"
grep -q "plugin loaded: product-analytics" "$work/trellis.log" ||
  die "the product-analytics plugin did not load: $(cat "$work/trellis.log")"
base=http://127.0.0.1:$port

# Product 1 of the default seed; its page must name it.
status=$(curl -sS -o "$work/page.html" -w '%{http_code}' "$base/product-analytics/products/1") ||
  die "GET $base/product-analytics/products/1 failed"
[[ $status == 200 ]] || die "GET /product-analytics/products/1 answered $status: $(head -c 400 "$work/page.html")"
grep -q 'id="pa-product-name"' "$work/page.html" || die "the product page has no product name: $(head -c 400 "$work/page.html")"

# -- load ---------------------------------------------------------------------
# wrk requests the pages in turn and reports the percentiles it measured.
cat >"$work/pages.lua" <<LUA
local paths = {}
for id = 1, 500, $step do paths[#paths + 1] = "/product-analytics/products/" .. id end
local next_path = 0
request = function()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
    summary.errors.timeout
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %.1f %d\n", summary.requests, errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), #paths))
end
LUA

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
run_wrk() {  # time, output file
  "${launch[@]}" wrk -t"$wrk_threads" -c"$connections" -d"$1" -s "$work/pages.lua" "$base/" >"$2" 2>&1 ||
    die "wrk failed: $(cat "$2")"
}

echo "product-page.sh: Trellis $("$trellis" --version | head -n 1), $server_threads I/O thread(s), wrk" \
  "-t$wrk_threads -c$connections -d$duration over $(((500 + step - 1) / step)) product pages, NICE=${nice_value:-unset};" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
if [[ -z $nice_value ]] && awk -v n="$(nproc)" '{ exit !($1 > n) }' /proc/loadavg; then
  echo "product-page.sh: the machine is busy: the tail will measure the scheduler; as root, NICE=-20 gives" \
    "the server and wrk their share" >&2
fi
run_wrk "$warmup" "$work/warmup.txt"
before=$(cpu_ticks "$trellis_pid")
run_wrk "$duration" "$work/run.txt"
after=$(cpu_ticks "$trellis_pid")
kill -0 "$trellis_pid" 2>/dev/null || die "trellis serve exited during the run: $(cat "$work/trellis.log")"

read -r requests errors p50 p95 p99 rps pages < <(sed -n 's/^RESULT //p' "$work/run.txt") ||
  die "could not read wrk's report: $(cat "$work/run.txt")"
((requests > 0)) || die "wrk made no request: $(cat "$work/run.txt")"
((errors == 0)) || die "wrk saw $errors errors (non-2xx answers or socket errors): $(cat "$work/run.txt")"
cpu_us=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')

printf 'product page, %d pages: p50 %s ms  p95 %s ms  p99 %s ms  %s req/s  %s us CPU/request (%d requests)\n' \
  "$pages" "$p50" "$p95" "$p99" "$rps" "$cpu_us" "$requests"
if awk -v p="$p95" -v t="$target_ms" 'BEGIN { exit !(p < t) }'; then
  echo "product-page.sh: PASS (target: p95 below $target_ms ms)"
  exit 0
fi
echo "product-page.sh: MISSED (target: p95 below $target_ms ms)"
exit 1
