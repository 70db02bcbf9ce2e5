#!/usr/bin/env bash
# `make run`: installs what is missing, builds, then runs broker + Redis + the component
# (wasmtime serve on 127.0.0.1:8082) in the foreground until interrupted; stops them on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
"$here/build.sh"
cleanup() { "$here/kafka.sh" stop single || true; "$here/redis.sh" stop || true; "$here/registry.sh" stop || true; }
trap cleanup EXIT INT TERM
"$here/redis.sh" start
# The Schema Registry for the avro format (127.0.0.1:8081); everything else is served without it.
if url="$("$here/registry.sh" start)"; then
  export SCHEMA_REGISTRY_URL="${SCHEMA_REGISTRY_URL:-$url}"
else
  echo "[run] the Schema Registry did not start: avro requests will answer 408/40801 (everything else works)" >&2
fi
if [ -n "${SECURE:-}" ] && [ "${SECURE}" != 0 ]; then
  # make run SECURE=1: the broker only over SASL_SSL (users alice / bob), the proxy in passthrough:
  # each request's Authorization: Basic is its own SCRAM-SHA-512 login.
  "$here/kafka.sh" start secure
  export KAFKA_BOOTSTRAP_SERVERS=localhost:9092 KAFKA_SECURITY_PROTOCOL=SASL_SSL KAFKA_SASL_MECHANISM=SCRAM-SHA-512
  KAFKA_TLS_CA_PEM="$(cat .run/certs/ca.pem)"
  export KAFKA_AUTH_MODE=passthrough KAFKA_TLS_CA_PEM
  echo "[run] SASL_SSL + passthrough: try  curl -u alice:alice-secret http://127.0.0.1:8082/topics"
else
  "$here/kafka.sh" start single
fi
echo "[run] serving the REST Proxy API on http://127.0.0.1:8082 under ${HOST:-wasmtime} (Ctrl-C stops everything)"
KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}" PORT=8082 "$here/serve.sh" &
wait $!
