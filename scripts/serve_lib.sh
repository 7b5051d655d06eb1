# serve_lib.sh: sourced by the demo and the benchmarks. start_serve MODELGATE CONFIG LOG starts
# `modelgate serve` in the background and waits for its "listening" line (written at any log
# level) to learn the bound port: it sets SERVE_PID and PORT, or prints the log and returns 1.
# stop_serve sends SIGTERM and waits for the drain.
start_serve() {
  "$1" serve --config "$2" 2>"$3" &
  SERVE_PID=$!
  PORT=""
  for _ in $(seq 1 200); do
    PORT="$(sed -n 's/.*"event":"listening".*"port":\([0-9][0-9]*\).*/\1/p' "$3" | head -n1)"
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$3" >&2
  echo "modelgate serve did not start" >&2
  return 1
}

stop_serve() {
  kill -TERM "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
}
