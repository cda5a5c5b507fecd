# Sourced by the benchmarks: the reference every run measures itself against, nginx answering
# a static 200 on loopback.

# bench_nginx_start DIR PORT: writes DIR/nginx.conf and starts nginx on 127.0.0.1:PORT with its
# pid and error log in DIR; dies when it does not answer within 10 s.
bench_nginx_start() {
  cat >"$1/nginx.conf" <<CONF
worker_processes 2;
pid $1/nginx.pid;
error_log $1/nginx-error.log;
events { worker_connections 1024; }
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
