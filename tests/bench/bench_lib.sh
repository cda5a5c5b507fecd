# Sourced by the benchmarks: the nginx reference every run measures itself against, and the
# reading of wrk's report.

# bench_nginx_start DIR PORT [CONNECTIONS]: writes DIR/nginx.conf and starts nginx on
# 127.0.0.1:PORT with its pid and error log in DIR (CONNECTIONS per worker, default 1024); dies
# when it does not answer within 10 s.
bench_nginx_start() {
  cat >"$1/nginx.conf" <<CONF
worker_processes 2;
pid $1/nginx.pid;
error_log $1/nginx-error.log;
events { worker_connections ${3:-1024}; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$2;
    location / { return 200 "ok"; }
  }
}
CONF
  nginx -c "$1/nginx.conf"
  bro_wait_http "http://127.0.0.1:$2/" 10 || bro_die "nginx not ready"
}

# bench_wrk_figures < wrk output: prints "req/s p50_ms p99_ms errors", errors being non-2xx
# answers plus socket errors (connect, read, write, timeout).
bench_wrk_figures() {
  /usr/bin/python3 -c '
import re, sys
t = sys.stdin.read()
def ms(v):
    n, u = re.match(r"([0-9.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[u]
rps = float(re.search(r"Requests/sec: +([0-9.]+)", t).group(1))
p50 = ms(re.search(r" 50% +([^ \n]+)", t).group(1))
p99 = ms(re.search(r" 99% +([^ \n]+)", t).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
print(rps, p50, p99, errors)'
}
