# What bench/http.sh and bench/observability.sh share: how servers and wrk
# are started, what a wrk run measures, and an nginx of the bench's own.
# Sourced, not run. The sourcing script sets `bench_name` (for messages) and
# `work` (its scratch directory) before it calls any of these.

die() {
  echo "$bench_name: $*" >&2
  exit 2
}

# How the servers and wrk are started: pinned to their CPUs and, with NICE,
# each in a session of its own whose autogroup gets that nice value. Under
# autogroup scheduling (Debian's default) plain nice only ranks a process
# within its session, while a busy machine's compilers are other sessions
# that share every core with it equally. Sets server_launch and client_launch.
server_launch=()
client_launch=()
if [[ ${PIN:-1} == 1 ]] && (($(nproc) >= 2)); then
  server_launch=(taskset -c "${SERVER_CPUS:-0}")
  client_launch=(taskset -c "${CLIENT_CPUS:-1}")
fi
nice_value=${NICE:-}
if [[ -n $nice_value ]]; then
  [[ $nice_value =~ ^-?[0-9]+$ ]] || die "NICE must be a number from -20 to 19, not '$nice_value'"
  # setsid execs (no fork) because the caller is never a process group leader
  # here, so $! and wrk's exit status stay those of the real process.
  prioritise=(setsid sh -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' "$nice_value")
  server_launch=("${prioritise[@]}" "${server_launch[@]}")
  client_launch=("${prioritise[@]}" "${client_launch[@]}")
fi

clk_tck=$(getconf CLK_TCK)
cpu_ticks() {  # utime + stime of a process, all threads
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# measure URL PID TIME OUT: runs wrk once against URL, its report in OUT;
# prints "requests/s p99_ms cpu_us_per_request requests", the CPU time being
# process PID's.
measure() {
  local url=$1 pid=$2 time=$3 out=$4
  local before after
  before=$(cpu_ticks "$pid")
  "${client_launch[@]}" wrk -t"$wrk_threads" -c"$connections" -d"$time" --latency "$url" >"$out" 2>&1 ||
    die "wrk failed: $(cat "$out")"
  after=$(cpu_ticks "$pid")
  if grep -q -e "Non-2xx" -e "Socket errors" "$out"; then
    die "wrk saw errors against $url: $(cat "$out")"
  fi
  awk -v ticks=$((after - before)) -v hz="$clk_tck" '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/)  return substr(v, 1, length(v) - 1) * 1000
      return -1
    }
    / requests in /  { n = $1 }
    /^ +99% /        { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    END {
      if (rps == "" || p99 == "" || n == 0) exit 1
      printf "%.0f %.3f %.2f %d\n", rps, p99, ticks / hz * 1e6 / n, n
    }' "$out" || die "could not read wrk's report: $(cat "$out")"
}

# A free port: bind port 0, read it, let it go. Another process could take it
# in between; the server would then fail to start and the script says so.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 30000))
}

# start_nginx NAME ROOT ACCESS_LOG: an nginx of its own (one worker, its config
# and pid file in $work/NAME, on a free 127.0.0.1 port) serving ROOT, where
# GET /ping/ answers ROOT/ping/index.json. ACCESS_LOG: "off", or a file that
# gets nginx's default "combined" lines through a 64 KiB buffer. Sets
# nginx_pid[NAME], nginx_worker[NAME] (whose CPU time counts) and nginx_url[NAME].
declare -A nginx_pid nginx_worker nginx_url
start_nginx() {
  local name=$1 www=$2 access_log=$3
  local dir=$work/$name port
  port=$(free_port)
  mkdir -p "$dir"
  local log_directive="access_log off;"
  [[ $access_log == off ]] || log_directive="access_log $access_log combined buffer=64k;"
  cat >"$dir/nginx.conf" <<NGINX
# Written by bench/lib.sh; nothing of the system's nginx configuration is used.
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
  worker_connections 1024;
}
http {
  $log_directive
  types { application/json json; }
  default_type application/json;
  sendfile on;
  tcp_nopush on;
  # wrk holds its connections open for the whole run, as it does with Trellis
  # (nginx would otherwise close each one after 1000 requests).
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  ${NGINX_EXTRA:-}
  server {
    listen 127.0.0.1:$port;
    root $www;
    # GET /ping/ -> ping/index.json, the way a directory index would, but
    # without the index module's internal redirect.
    location = /ping/ {
      try_files /ping/index.json =404;
    }
  }
}
NGINX
  # In the foreground (daemon off) so it is started exactly as Trellis is;
  # a daemonising nginx would also leave for a session of its own.
  (
    exec "${server_launch[@]}" "$(command -v nginx)" -p "$dir/" -c "$dir/nginx.conf" \
      -e "$dir/error.log" -g 'daemon off;' >"$dir/nginx.out" 2>&1
  ) &
  nginx_pid[$name]=$!
  for _ in $(seq 50); do
    [[ -s $dir/nginx.pid ]] && break
    kill -0 "${nginx_pid[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  [[ $(cat "$dir/nginx.pid" 2>/dev/null) == "${nginx_pid[$name]}" ]] ||
    die "nginx ($name) did not start: $(cat "$dir/nginx.out" "$dir/error.log" 2>/dev/null)"
  nginx_worker[$name]=$(ps -o pid= --ppid "${nginx_pid[$name]}" | tr -d ' ' | head -n 1)
  [[ -n ${nginx_worker[$name]} ]] || die "nginx ($name) started no worker"
  nginx_url[$name]=http://127.0.0.1:$port/ping/
}

# stop_pid PID: ends a server (nginx: fast shutdown of master and worker) and
# waits for it; nothing when it is gone already.
stop_pid() {
  if [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
