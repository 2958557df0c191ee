# Sourced by the benchmark scripts: start_nginx_receiver DIR [ARRIVALS]
# starts nginx on 127.0.0.1:18080 answering a fixed 200 (config and logs in
# DIR) and sets nginx_pid; the caller kills it. With ARRIVALS, nginx writes
# "$msec $uri" there for every request (when each arrived, to the ms).
start_nginx_receiver() {
  local dir=$1
  local log="access_log off;"
  [ -n "${2:-}" ] && log="log_format arrivals '\$msec \$uri'; access_log $2 arrivals buffer=1m;"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 4096; }
http {
  $log
  client_body_temp_path $dir;
  server { listen 127.0.0.1:18080; location / { return 200 'ok'; } }
}
NGINX
  nginx -c "$dir/nginx.conf" &
  nginx_pid=$!
  sleep 0.5
}
