#!/usr/bin/env bash
# Rows per second of a large SELECT streamed over HTTP, Trellis beside the
# sqlite3 shell writing the same rows as JSON.
#
#   bench/query.sh [BUILD_DIR]        (default: build)
#
# Creates, once, two SQLite files under BUILD_DIR/bench/query-data: table t
# with ROWS rows (default 1,000,000) of six mixed columns (id INTEGER, name
# TEXT, price REAL, qty INTEGER, created TEXT date, note TEXT, a quarter NULL)
# and a copy of its first SMALL_ROWS rows (default 100,000). Then, in one run:
#
#   sqlite3 -json FILE "SELECT * FROM t" >FILE.json
#   curl -X POST -d '{"sql":"SELECT * FROM t"}' .../api/v1/sources/bench/query -o FILE.json
#
# against `trellis serve` (one I/O thread, only the sqlite plugin loaded), and
# the same in CSV (sqlite3 -csv -header; Accept: text/csv). Each is run once
# to warm up, and those outputs are checked: both JSON files hold the same
# rows, value for value, and each CSV file holds the rows of the JSON. Then
# RUNS timed runs in alternating order, each output compared byte for byte
# with the checked one. Printed: the medians as rows/s, the ratio Trellis /
# sqlite3 (target: TARGET, default 1.0, for JSON; CSV is for information),
# the CPU time of each side, and the peak RSS (VmHWM) of a fresh server after
# it streamed SMALL_ROWS rows and of another after ROWS rows: streaming holds
# a few 64 KiB chunks, so the two must not differ by more than RSS_SLACK_KB.
#
# sqlite3 and the server run pinned to SERVER_CPUS (default 0), curl to
# CLIENT_CPUS (default 1); PIN=0 lets them float. NICE=-20 (root) runs each
# in a session of its own with that nice value, as bench/http.sh does.
#
# Exits 0 when both targets are met, 1 when one is missed, 2 when it could not
# run (the server did not start, an output was wrong). The server is stopped
# on every exit. The environment tunes the run:
#   ROWS=1000000 SMALL_ROWS=100000 RUNS=5 TARGET=1.0 RSS_SLACK_KB=4096
#   PIN=1 SERVER_CPUS=0 CLIENT_CPUS=1 NICE=   as in bench/http.sh
#   KEEP=1   keep the temporary directory (config, logs, outputs)
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$root/build}
rows=${ROWS:-1000000}
small_rows=${SMALL_ROWS:-100000}
runs=${RUNS:-5}
target=${TARGET:-1.0}
rss_slack=${RSS_SLACK_KB:-4096}

bench_name=query.sh
source "$root/bench/lib.sh"

build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || die "build directory '${1:-build}' not found; run 'make build' first"
trellis=$build_dir/bin/trellis
sqlite_plugin=$build_dir/lib/trellis/plugins/sqlite.so
[[ -x $trellis ]] || die "$trellis not found; build first (make build)"
[[ -f $sqlite_plugin ]] || die "$sqlite_plugin not found; build the 'sqlite' target"
for tool in sqlite3 curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found; run 'scripts/install-deps --bench'"
done
for v in rows small_rows runs rss_slack; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v^^} must be a positive integer, not '${!v}'"
done
((small_rows < rows)) || die "SMALL_ROWS ($small_rows) must be less than ROWS ($rows)"
[[ $target =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "TARGET must be a number such as 1.0, not '$target'"

# server_launch and client_launch (bench/lib.sh): pinned, and with NICE each
# in a session of its own whose autogroup gets that nice value.
placement="unpinned"
if [[ ${PIN:-1} == 1 ]] && (($(nproc) >= 2)); then
  placement="sqlite3 and the server on CPU ${SERVER_CPUS:-0}, curl on CPU ${CLIENT_CPUS:-1}"
fi

# -- the databases (cached) -----------------------------------------------------
# Values are computed from the id, so every machine gets the same file. Names
# are 10-21 characters; a third of the notes need JSON and CSV escaping.
data_dir=$build_dir/bench/query-data
big_db=$data_dir/t-$rows.db
small_db=$data_dir/t-$small_rows-of-$rows.db
mkdir -p "$data_dir"

table_rows() {  # rows in t, or nothing when the file is not a usable database
  sqlite3 -readonly "$1" "SELECT count(*) FROM t" 2>/dev/null || true
}

if [[ $(table_rows "$big_db") != "$rows" ]]; then
  echo "query.sh: creating $big_db ($rows rows, once)" >&2
  rm -f "$big_db.tmp"
  sqlite3 "$big_db.tmp" >/dev/null <<SQL || die "could not create $big_db"
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE t (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  price REAL NOT NULL,
  qty INTEGER NOT NULL,
  created TEXT NOT NULL,
  note TEXT
);
WITH RECURSIVE
  seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $rows),
  adj(i, w) AS (VALUES (0, 'Red'), (1, 'Small'), (2, 'Heavy'), (3, 'Blue'), (4, 'Compact'), (5, 'Steel'),
                       (6, 'Deluxe')),
  noun(i, w) AS (VALUES (0, 'widget'), (1, 'gear'), (2, 'sprocket'), (3, 'bracket'), (4, 'hinge'), (5, 'valve'),
                        (6, 'bolt'), (7, 'flange'), (8, 'gasket'), (9, 'spindle'), (10, 'coupling'))
INSERT INTO t (id, name, price, qty, created, note)
SELECT n,
       (SELECT w FROM adj WHERE i = n % 7) || ' ' || (SELECT w FROM noun WHERE i = (n / 7) % 11) || ' ' ||
         (n * 7919 % 9973),
       ((n * 2654435761) % 100000) / 100.0 + 0.99,
       (n * 40503) % 500,
       date('2019-01-01', '+' || ((n * 37) % 2190) || ' days'),
       CASE n % 4
         WHEN 0 THEN NULL
         WHEN 1 THEN 'ship by ' || date('2019-01-01', '+' || ((n * 37) % 2190 + 14) || ' days')
         WHEN 2 THEN 'customer asked for "express" delivery, order #' || (n * 31 % 100000)
         ELSE 'ok'
       END
FROM seq;
SQL
  mv "$big_db.tmp" "$big_db"
  [[ $(table_rows "$big_db") == "$rows" ]] || die "$big_db does not hold $rows rows after creating it"
fi
if [[ $(table_rows "$small_db") != "$small_rows" ]]; then
  echo "query.sh: creating $small_db (the first $small_rows rows, once)" >&2
  rm -f "$small_db.tmp"
  # The schema as written (declared types included), then the rows.
  { sqlite3 -readonly "$big_db" ".schema t" && echo "ATTACH '$big_db' AS big;" &&
    echo "INSERT INTO t SELECT * FROM big.t ORDER BY id LIMIT $small_rows;"; } | sqlite3 "$small_db.tmp" ||
    die "could not create $small_db"
  mv "$small_db.tmp" "$small_db"
  [[ $(table_rows "$small_db") == "$small_rows" ]] || die "$small_db does not hold $small_rows rows after creating it"
fi

# -- the server -----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/trellis-query-bench.XXXXXX")
mkdir -p "$work/plugins"
# Only the sqlite plugin: the figures are the host's and the driver's alone.
ln -s "$sqlite_plugin" "$work/plugins/sqlite.so"
cat >"$work/trellis.toml" <<TOML
# Written by bench/query.sh. read_only: nothing switches the cached files to WAL.
[sources.bench]
plugin = "sqlite"
path = "$big_db"
read_only = true
max_rows = 0
query_timeout_ms = 600000

[sources.bench_small]
plugin = "sqlite"
path = "$small_db"
read_only = true
max_rows = 0
query_timeout_ms = 600000
TOML
trellis_pid=""

stop_server() {
  if [[ -n $trellis_pid ]] && kill -0 "$trellis_pid" 2>/dev/null; then
    kill -TERM "$trellis_pid" 2>/dev/null || true
    wait "$trellis_pid" 2>/dev/null || true
  fi
  trellis_pid=""
}
cleanup() {
  stop_server
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "query.sh: keeping $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# Starts a fresh server; sets trellis_pid and base_url.
start_server() {
  local log=$work/trellis-$1
  (
    cd "$work"
    export TRELLIS_SERVER_THREADS=1
    unset TRELLIS_CONFIG TRELLIS_PLUGIN_PATH
    # The server's user store and audit log in the scratch directory; requests
    # come without credentials, as an anonymous admin (sign-in is not measured).
    export TRELLIS_DATA_DIR="$work" TRELLIS_AUTH_ANONYMOUS_ROLE=admin
    exec "${server_launch[@]}" "$trellis" --config "$work/trellis.toml" --no-default-plugins \
      --plugin-dir "$work/plugins" serve --listen 127.0.0.1:0 >"$log.out" 2>"$log.log"
  ) &
  trellis_pid=$!
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's|^Trellis is listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$log.out" 2>/dev/null || true)
    [[ -n $port ]] && break
    kill -0 "$trellis_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $port ]] || die "trellis serve did not start: $(cat "$log.log")"
  [[ $(readlink "/proc/$trellis_pid/exe") == "$(readlink -f "$trellis")" ]] || die "lost track of the trellis process"
  base_url=http://127.0.0.1:$port
  [[ $(curl -sS --max-time 5 "$base_url/healthz" 2>&1) == ok ]] || die "GET $base_url/healthz did not answer ok"
}

query_url() { echo "$base_url/api/v1/sources/$1/query"; }
request='{"sql":"SELECT * FROM t"}'

clk_tck=$(getconf CLK_TCK)
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# Runs a command with stdout to OUT; prints "wall_s user_s sys_s" of it.
timed() {
  local out=$1 TIMEFORMAT='%R %U %S' t
  shift
  t=$({ time "$@" >"$out" 2>"$work/stderr.txt"; } 2>&1) || die "'$*' failed: $(cat "$work/stderr.txt")"
  echo "$t"
}

# One run of one side; prints "wall_s cpu_s", for Trellis the CPU time of
# server and curl, then how it splits.
run_sqlite() {  # FORMAT OUT
  local mode=-json
  [[ $1 == csv ]] && mode=(-csv -header)
  timed "$2" "${server_launch[@]}" sqlite3 "${mode[@]}" "$big_db" "SELECT * FROM t" |
    awk '{ printf "%s %.3f\n", $1, $2 + $3 }'
}
run_trellis() {  # FORMAT OUT
  local accept=application/json before after
  [[ $1 == csv ]] && accept=text/csv
  before=$(cpu_ticks "$trellis_pid")
  local t
  t=$(timed "$2" "${client_launch[@]}" curl -sS --fail -X POST -H "Accept: $accept" -d "$request" "$(query_url bench)")
  after=$(cpu_ticks "$trellis_pid")
  awk -v t="$t" -v server=$((after - before)) -v hz="$clk_tck" \
    'BEGIN { split(t, a, " "); printf "%s %.3f (server %.2f + curl %.2f)\n", a[1], server / hz + a[2] + a[3], \
             server / hz, a[2] + a[3] }'
}

# -- check: the warm-up outputs hold the same rows --------------------------------
# sqlite3 -json writes an array of objects, Trellis {"columns", "rows": arrays,
# "row_count"}; the values are compared as JSON values (358.60000000000002273
# and 358.6 are the same double). The CSV files must hold the JSON's rows.
check_outputs() {
  python3 - "$rows" "$@" <<'PY' || die "the outputs differ (see above)"
import csv, json, sys

expected = int(sys.argv[1])
sqlite_json, trellis_json, sqlite_csv, trellis_csv = sys.argv[2:6]

def fail(message):
    print("query.sh: " + message, file=sys.stderr)
    sys.exit(1)

with open(trellis_json) as f:
    doc = json.load(f)
names = [c["name"] for c in doc["columns"]]
rows = doc["rows"]
if doc.get("error"):
    fail(f"{trellis_json}: the query failed: {doc['error']}")
if doc["row_count"] != len(rows) or len(rows) != expected:
    fail(f"{trellis_json}: {len(rows)} rows, row_count {doc['row_count']}, expected {expected}")

with open(sqlite_json) as f:
    peer = json.load(f)
if len(peer) != expected:
    fail(f"{sqlite_json}: {len(peer)} rows, expected {expected}")
for i, (obj, row) in enumerate(zip(peer, rows)):
    if list(obj.keys()) != names or list(obj.values()) != row:
        fail(f"row {i + 1} differs: sqlite3 {obj}, Trellis {row}")
del peer

# Numbers are compared as numbers: a REAL may be written 663, 663.0 or
# 663.00000000000000001. sqlite3 -csv writes REALs with 15 significant digits
# (219.48 for 219.48000000000002); Trellis the shortest text that reads back.
def same(field, value, digits):
    if value is None:
        return field == ""
    if isinstance(value, str):
        return field == value
    try:
        number = int(field) if field.lstrip("-").isdigit() else float(field)
    except ValueError:
        return False
    if digits and isinstance(number, float):
        return number == float(f"{value:.{digits}g}")
    return number == value

for path, digits in ((sqlite_csv, 15), (trellis_csv, None)):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != names:
            fail(f"{path}: header {header}, expected {names}")
        n = 0
        for n, fields in enumerate(reader, 1):
            if n > expected or len(fields) != len(names) or \
                    not all(same(f, v, digits) for f, v in zip(fields, rows[n - 1])):
                fail(f"{path}: row {n} is {fields}, the JSON has {rows[n - 1] if n <= expected else 'no such row'}")
        if n != expected:
            fail(f"{path}: {n} rows, expected {expected}")
PY
}

start_server main
echo "query.sh: Trellis $("$trellis" --version | head -n 1) on $base_url (pid $trellis_pid), sqlite3" \
  "$(sqlite3 --version | cut -d' ' -f1), $rows rows ($(du -k "$big_db" | cut -f1) KiB file)" >&2
echo "query.sh: median of $runs runs after one warm-up each; $placement, NICE=${nice_value:-unset};" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for format in json csv; do
  run_sqlite "$format" "$work/ref-sqlite.$format" >/dev/null
  run_trellis "$format" "$work/ref-trellis.$format" >/dev/null
done
check_outputs "$work/ref-sqlite.json" "$work/ref-trellis.json" "$work/ref-sqlite.csv" "$work/ref-trellis.csv"
size=()
for f in sqlite.json trellis.json sqlite.csv trellis.csv; do
  size+=("$(stat -c %s "$work/ref-$f")")
done
echo "query.sh: outputs checked: $rows rows each; bytes per row: JSON sqlite3 $((size[0] / rows))," \
  "Trellis $((size[1] / rows)); CSV sqlite3 $((size[2] / rows)), Trellis $((size[3] / rows))" >&2

results=$work/results.txt
: >"$results"
for ((r = 1; r <= runs; ++r)); do
  order=(sqlite trellis)
  ((r % 2 == 0)) && order=(trellis sqlite)
  for format in json csv; do
    for side in "${order[@]}"; do
      out=$work/out-$side.$format
      line=$("run_$side" "$format" "$out")
      cmp -s "$out" "$work/ref-$side.$format" || die "run $r: $side's $format output differs from the checked one"
      echo "$format $side $line" >>"$results"
      read -r wall cpu detail <<<"$line"
      printf 'query.sh: run %d %-4s %-7s %6s s  %10.0f rows/s  CPU %6s s %s\n' "$r" "$format" "$side" "$wall" \
        "$(awk -v w="$wall" -v n="$rows" 'BEGIN { print n / w }')" "$cpu" "$detail" >&2
    done
  done
done
kill -0 "$trellis_pid" 2>/dev/null || die "trellis serve exited during the run: $(cat "$work/trellis-main.log")"
stop_server

# -- peak RSS: a fresh server per row count --------------------------------------
rss_line=""
for source in bench_small bench; do
  n=$rows
  [[ $source == bench_small ]] && n=$small_rows
  start_server "rss-$source"
  idle=$(peak_rss_kb "$trellis_pid")
  "${client_launch[@]}" curl -sS --fail -X POST -d "$request" "$(query_url "$source")" -o "$work/rss.json" ||
    die "POST $(query_url "$source") failed"
  tail -c 40 "$work/rss.json" | grep -q "\"row_count\":$n}" || die "the $n-row answer does not end with row_count $n"
  peak=$(peak_rss_kb "$trellis_pid")
  stop_server
  rss_line+="$n $idle $peak "
  echo "query.sh: fresh server, $n rows streamed: peak RSS $peak KiB (before the request $idle KiB)" >&2
done

# -- report ---------------------------------------------------------------------------
awk -v target="$target" -v runs="$runs" -v n="$rows" -v rss="$rss_line" -v slack="$rss_slack" '
  function median(a, k,   i, j, t) {
    for (i = 2; i <= k; ++i) for (j = i; j > 1 && a[j - 1] > a[j]; --j) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  function lo(a, k,   i, m) { m = a[1]; for (i = 2; i <= k; ++i) if (a[i] < m) m = a[i]; return m }
  function hi(a, k,   i, m) { m = a[1]; for (i = 2; i <= k; ++i) if (a[i] > m) m = a[i]; return m }
  { k = ++count[$1, $2]; wall[$1, $2, k] = $3; cpu[$1, $2, k] = $4 }
  END {
    for (f = 0; f < 2; ++f) {
      fmt = f == 0 ? "json" : "csv"
      for (s = 0; s < 2; ++s) {
        side = s == 0 ? "trellis" : "sqlite"
        for (i = 1; i <= runs; ++i) { w[i] = wall[fmt, side, i]; c[i] = cpu[fmt, side, i] }
        W[fmt, side] = median(w, runs); Wlo[fmt, side] = lo(w, runs); Whi[fmt, side] = hi(w, runs)
        C[fmt, side] = median(c, runs)
      }
    }
    row = "%-30s %10.0f rows/s  (%.0f-%.0f)   %6.2f s   CPU %6.2f s\n"
    printf row, "Trellis JSON (HTTP, curl)", n / W["json", "trellis"], n / Whi["json", "trellis"], \
      n / Wlo["json", "trellis"], W["json", "trellis"], C["json", "trellis"]
    printf row, "sqlite3 -json (peer)", n / W["json", "sqlite"], n / Whi["json", "sqlite"], \
      n / Wlo["json", "sqlite"], W["json", "sqlite"], C["json", "sqlite"]
    ratio = W["json", "sqlite"] / W["json", "trellis"]
    printf "%-30s %10.2fx       (medians of %d runs, min-max in brackets; CPU: server + curl)\n", \
      "ratio Trellis / sqlite3", ratio, runs
    printf row, "Trellis CSV (Accept: text/csv)", n / W["csv", "trellis"], n / Whi["csv", "trellis"], \
      n / Wlo["csv", "trellis"], W["csv", "trellis"], C["csv", "trellis"]
    printf row, "sqlite3 -csv -header", n / W["csv", "sqlite"], n / Whi["csv", "sqlite"], \
      n / Wlo["csv", "sqlite"], W["csv", "sqlite"], C["csv", "sqlite"]
    printf "%-30s %10.2fx\n", "ratio CSV Trellis / sqlite3", W["csv", "sqlite"] / W["csv", "trellis"]
    split(rss, r, " ")
    printf "%-30s %10.1f MiB after %d rows, %.1f MiB after %d rows (idle %.1f MiB)\n", "peak RSS of the server", \
      r[3] / 1024, r[1], r[6] / 1024, r[4], r[5] / 1024
    ok = 1
    if (ratio < target) { ok = 0; printf "query.sh: MISSED: ratio %.2fx < %.2fx\n", ratio, target }
    if (r[6] - r[3] > slack) {
      ok = 0
      printf "query.sh: MISSED: peak RSS grew by %d KiB from %d to %d rows (allowed: %d KiB)\n", \
        r[6] - r[3], r[1], r[4], slack
    }
    if (ok) { printf "query.sh: PASS (targets: at least %.2fx; peak RSS within %d KiB)\n", target, slack; exit 0 }
    printf "query.sh: FAIL\n"
    exit 1
  }' "$results"
