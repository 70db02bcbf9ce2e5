#!/usr/bin/env bash
# Builds both artifacts and the key-value shim for wasm32-wasip2, and composes each artifact with
# the shim for wasmtime serve:
#   target/wasm32-wasip2/release/kafka_rest_edge.wasm     WASI 0.3 (Spin >= 4.1)
#   target/wasm32-wasip2/release/kafka_rest_edge_p2.wasm  WASI 0.2 (Spin 3.x, 4.0.x, SpinKube)
#   target/kafka-rest-edge.composed.wasm, target/kafka-rest-edge-p2.composed.wasm  (wasmtime serve)
# The artifacts alone are what Spin runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
"$here/install-tools.sh" build
# One package per build: built together, cargo would unify their dependencies' features and each
# artifact would differ from what `spin build` (one package) makes.
for pkg in kafka-rest-edge kafka-rest-edge-p2 kre-kv-redis; do
  cargo build --release --target wasm32-wasip2 -p "$pkg"
done
out=target/wasm32-wasip2/release
wac plug --plug "$out/kre_kv_redis.wasm" "$out/kafka_rest_edge.wasm" -o target/kafka-rest-edge.composed.wasm
wac plug --plug "$out/kre_kv_redis.wasm" "$out/kafka_rest_edge_p2.wasm" -o target/kafka-rest-edge-p2.composed.wasm
echo "[build] WASI 0.3 component $(stat -c %s "$out/kafka_rest_edge.wasm") bytes; WASI 0.2 component $(stat -c %s "$out/kafka_rest_edge_p2.wasm") bytes"
