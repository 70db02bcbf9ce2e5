#!/usr/bin/env bash
# Runs the composed component under `wasmtime serve` on 127.0.0.1:${PORT:-8082} in the foreground.
# Configuration: the component's Spin variables, upper-cased, from this environment
# (KAFKA_BOOTSTRAP_SERVERS, KAFKA_HOST_MAP, ...; see README) and KRE_REDIS_ADDR for the shim.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
PORT="${PORT:-8082}"
# wasmtime serve hands the component neither the request authority nor the Host header:
# links (v3 self/related, v2 base_uri) need the base URL spelled out.
export ADVERTISED_BASE_URL="${ADVERTISED_BASE_URL:-http://127.0.0.1:$PORT}"
envs=()
for name in KAFKA_BOOTSTRAP_SERVERS KAFKA_HOST_MAP KAFKA_CLIENT_ID KAFKA_REQUEST_TIMEOUT_MS KAFKA_CONNECT_TIMEOUT_MS \
            ADVERTISED_BASE_URL MAX_REQUEST_BYTES KV_STORE KRE_REDIS_ADDR KRE_REDIS_PREFIX PRODUCER_ACKS \
            PRODUCER_COMPRESSION PRODUCER_MAX_BATCH_BYTES KAFKA_METADATA_MAX_AGE_MS CONSUMER_INSTANCE_TIMEOUT_MS \
            CONSUMER_REQUEST_TIMEOUT_MS CONSUMER_GROUP_PROTOCOL ALLOW_INTERNAL_TOPIC_WRITES \
            BODY_IDLE_TIMEOUT_MS API_ENDPOINTS_ALLOWLIST API_ENDPOINTS_BLOCKLIST KAFKA_SECURITY_PROTOCOL \
            KAFKA_TLS_CA_PEM KAFKA_TLS_CERT_PEM KAFKA_TLS_KEY_PEM KAFKA_TLS_INSECURE_SKIP_VERIFY KAFKA_AUTH_MODE \
            KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_SASL_OAUTHBEARER_TOKEN \
            SCHEMA_REGISTRY_URL SCHEMA_REGISTRY_BASIC_AUTH SCHEMA_REGISTRY_TIMEOUT_MS; do
  if [ -n "${!name:-}" ]; then envs+=(--env "$name=${!name}"); fi
done
exec wasmtime serve -Scli -Sinherit-network -Sallow-ip-name-lookup --addr "127.0.0.1:$PORT" \
  "${envs[@]}" "${KRE_COMPONENT:-target/kafka-rest-edge.composed.wasm}"
