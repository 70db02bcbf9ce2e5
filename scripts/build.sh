#!/usr/bin/env bash
# Builds the Spin component and the key-value shim for wasm32-wasip2 and composes them for
# wasmtime: target/kafka-rest-edge.composed.wasm. The component alone is what Spin runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
"$here/install-tools.sh" all
cargo build --release --target wasm32-wasip2 -p kafka-rest-edge -p kre-kv-redis
out=target/wasm32-wasip2/release
wac plug --plug "$out/kre_kv_redis.wasm" "$out/kafka_rest_edge.wasm" -o target/kafka-rest-edge.composed.wasm
echo "[build] component $(stat -c %s "$out/kafka_rest_edge.wasm") bytes; composed $(stat -c %s target/kafka-rest-edge.composed.wasm) bytes"
