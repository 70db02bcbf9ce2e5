#!/usr/bin/env bash
# Redis for the key-value shim: installed from the distribution's packages when missing,
# run on 127.0.0.1:${KRE_REDIS_PORT:-6379} with its data under .run/redis (persisted, AOF).
#   scripts/redis.sh start | stop | foreground | status
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
PORT="${KRE_REDIS_PORT:-6379}"
RUN_DIR="${KRE_RUN_DIR:-$here/../.run}"
mkdir -p "$RUN_DIR/redis"
DIR="$(cd "$RUN_DIR/redis" && pwd)"

install() {
  command -v redis-server >/dev/null && return
  echo "[redis] installing redis-server"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; fi
}

running() { [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; }

args() {
  echo --port "$PORT" --bind 127.0.0.1 --dir "$DIR" --appendonly yes --save "" --protected-mode yes \
    --logfile "$DIR/redis.log" --pidfile "$DIR/pid"
}

wait_ready() {
  for _ in $(seq 1 100); do
    redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "[redis] not ready; log:" >&2; tail -20 "$DIR/redis.log" >&2; exit 1
}

case "${1:-start}" in
  install) install ;;
  start)
    install
    if running; then exit 0; fi
    # shellcheck disable=SC2046
    redis-server $(args) --daemonize yes
    wait_ready; echo "[redis] ready on 127.0.0.1:$PORT" ;;
  stop)
    if running; then redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$DIR/pid")" 2>/dev/null || true; fi
    for _ in $(seq 1 50); do running || break; sleep 0.1; done
    rm -f "$DIR/pid" ;;
  status) running && echo "redis running (pid $(cat "$DIR/pid"))" || echo "redis stopped" ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
