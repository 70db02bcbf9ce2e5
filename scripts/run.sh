#!/usr/bin/env bash
# `make run`: installs what is missing, builds, then runs broker + Redis + the component
# (wasmtime serve on 127.0.0.1:8082) in the foreground until interrupted; stops them on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
"$here/build.sh"
cleanup() { "$here/kafka.sh" stop single || true; "$here/redis.sh" stop || true; }
trap cleanup EXIT INT TERM
"$here/kafka.sh" start single
"$here/redis.sh" start
echo "[run] serving the REST Proxy API on http://127.0.0.1:8082 (Ctrl-C stops everything)"
KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}" PORT=8082 "$here/serve.sh" &
wait $!
