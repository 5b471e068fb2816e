# Sourced by the benchmarks. start_nginx WORK: one nginx worker serving WORK/nginx/www on a free loopback port
# (keep-alive, no access log), with NGINX_LOCATIONS (extra location blocks) when set; sets nginx_port and
# nginx_pid and returns once the port accepts connections.
# stop_nginx stops it. WORK must be world-readable (nginx workers run as www-data when started as root).
start_nginx() {
  local work=$1
  nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/nginx/logs" "$work/nginx/www"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server { listen 127.0.0.1:$nginx_port; root $work/nginx/www; location / { } ${NGINX_LOCATIONS:-} }
}
CONF
  /usr/sbin/nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  nginx_pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$nginx_port") 2>/dev/null && return 0; sleep 0.1; done
  echo "nginx did not start on 127.0.0.1:$nginx_port" >&2
  return 1
}

stop_nginx() {
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
}

# bench_start NAME: the common start of a benchmark — a world-readable work folder (work), the CLI built, an EXIT
# trap that stops nginx, removes the cgroups quota.sh made and the folder (kept with KEEP=1), then one nginx
# (nginx_port). The caller writes its page into $work/nginx/www.
bench_start() {
  work=$(mktemp -d "/tmp/constellation-$1-bench.XXXXXX")
  chmod 755 "$work"   # nginx workers (www-data when run as root) read its files
  ./constellation --version >/dev/null   # builds if needed
  cgroups=""
  nginx_pid=""
  trap bench_cleanup EXIT
  start_nginx "$work"
}

bench_cleanup() {
  [ -z "${nginx_pid:-}" ] || stop_nginx
  for g in ${cgroups:-}; do rmdir "$g" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
