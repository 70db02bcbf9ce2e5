#!/usr/bin/env bash
# Runs the composed component under `wasmtime serve` on 127.0.0.1:${PORT:-8082} in the foreground
# (HOST=spin: the component under `spin up`, its key-value store on the same Redis).
# Configuration: the component's Spin variables, upper-cased, from this environment
# (KAFKA_BOOTSTRAP_SERVERS, KAFKA_HOST_MAP, ...; see docs/configuration.md) and KRE_REDIS_ADDR for the shim.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
PORT="${PORT:-8082}"
# wasmtime serve hands the component neither the request authority nor the Host header:
# links (v3 self/related, v2 base_uri) need the base URL spelled out.
export ADVERTISED_BASE_URL="${ADVERTISED_BASE_URL:-http://127.0.0.1:$PORT}"
names=(KAFKA_BOOTSTRAP_SERVERS KAFKA_HOST_MAP KAFKA_CLIENT_ID KAFKA_REQUEST_TIMEOUT_MS KAFKA_CONNECT_TIMEOUT_MS \
            ADVERTISED_BASE_URL MAX_REQUEST_BYTES KV_STORE KRE_REDIS_ADDR KRE_REDIS_PREFIX PRODUCER_ACKS \
            PRODUCER_COMPRESSION PRODUCER_MAX_BATCH_BYTES KAFKA_METADATA_MAX_AGE_MS CONSUMER_INSTANCE_TIMEOUT_MS \
            CONSUMER_REQUEST_TIMEOUT_MS CONSUMER_GROUP_PROTOCOL ALLOW_INTERNAL_TOPIC_WRITES \
            BODY_IDLE_TIMEOUT_MS MAX_HEADER_BYTES MAX_RECORDS_PER_REQUEST MAX_CONSUMERS_PER_GROUP API_ENDPOINTS_ALLOWLIST API_ENDPOINTS_BLOCKLIST KAFKA_SECURITY_PROTOCOL \
            KAFKA_TLS_CA_PEM KAFKA_TLS_CERT_PEM KAFKA_TLS_KEY_PEM KAFKA_TLS_INSECURE_SKIP_VERIFY KAFKA_AUTH_MODE \
            KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_SASL_OAUTHBEARER_TOKEN \
            SCHEMA_REGISTRY_URL SCHEMA_REGISTRY_BASIC_AUTH SCHEMA_REGISTRY_TIMEOUT_MS)
if [ "${HOST:-wasmtime}" = spin ]; then
  # `spin up` of the WASI 0.2 artifact as spin.toml ships it (KRE_COMPONENT: another .wasm), its
  # key-value store on the same Redis (a runtime-config file), the settings as Spin variables.
  # Spin gives components no DNS: `localhost` is mapped for the local broker's sake.
  spin="$(command -v spin || true)"; [ -n "$spin" ] || spin="$PWD/../shared/tools/spin/spin"
  [ -x "$spin" ] || { echo "[serve] no spin on PATH or at ../shared/tools/spin/spin" >&2; exit 1; }
  dir="$PWD/.run/spin-$PORT"; rm -rf "$dir"; mkdir -p "$dir"
  component="$(realpath "${KRE_COMPONENT:-target/wasm32-wasip2/release/kafka_rest_edge_p2.wasm}")"
  # Development hosts reach whatever the local stack runs on loopback (bench broker, registry).
  sed -e "s|^source = \".*\"|source = \"$component\"|" \
      -e 's|^allowed_outbound_hosts = .*|allowed_outbound_hosts = ["tcp://127.0.0.1:*"]|' \
      -e '/^\[component.kafka-rest-edge.build\]/,$d' spin.toml >"$dir/spin.toml"
  printf '[key_value_store.default]\ntype = "redis"\nurl = "redis://%s"\n' "${KRE_REDIS_ADDR:-127.0.0.1:6379}" >"$dir/rt.toml"
  export KAFKA_HOST_MAP="${KAFKA_HOST_MAP:-localhost=127.0.0.1}"
  vars=()
  for name in "${names[@]}"; do
    case "$name" in KRE_*) continue ;; esac
    if [ -n "${!name:-}" ]; then vars+=(--variable "$(echo "$name" | tr '[:upper:]' '[:lower:]')=${!name}"); fi
  done
  exec "$spin" up -f "$dir/spin.toml" --listen "127.0.0.1:$PORT" --runtime-config-file "$dir/rt.toml" "${vars[@]}"
fi
envs=()
for name in "${names[@]}"; do
  if [ -n "${!name:-}" ]; then envs+=(--env "$name=${!name}"); fi
done
# wasmtime serve's pooling allocator allows 1,000 core instances at once by default, and each
# request's instance of the composed component holds several: past ~250 requests in flight the
# host answered 500 ("maximum concurrent limit of 1000 for core instances reached"; make chaos's
# 1,000-connection load). Room for ~2,000 requests in flight per host.
pool=(-O pooling-total-core-instances=16000 -O pooling-total-component-instances=2000
  -O pooling-total-memories=8000 -O pooling-total-tables=16000 -O pooling-total-stacks=2000)
exec wasmtime serve -Scli -Sinherit-network -Sallow-ip-name-lookup --addr "127.0.0.1:$PORT" "${pool[@]}" \
  "${envs[@]}" "${KRE_COMPONENT:-target/kafka-rest-edge.composed.wasm}"
