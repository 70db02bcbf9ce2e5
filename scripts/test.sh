#!/usr/bin/env bash
# `make test`: installs what is missing, then
#   1. builds both artifacts (WASI 0.3 and WASI 0.2) and their wasmtime compositions, checks each
#      against the Spin worlds it is for;
#   2. lint: shellcheck, rustfmt, clippy -D warnings (native and wasm32-wasip2; the core kept off
#      the system clock, threads and std::net by crates/core/clippy.toml);
#   3. unit tests (native);
#   4. starts a test broker (127.0.0.1:29092, secure listeners 29094-29098), a test Redis
#      (127.0.0.1:26379) and a Schema Registry (127.0.0.1:28081), runs the
#      end-to-end tests (each spawns its own hosts: wasmtime serve and spin up, both artifacts),
#      then the 3-broker cluster tests and a short `make chaos` (no acknowledged record lost);
#   5. stops everything it started, whatever happened.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
export KRE_RUN_DIR_TEST="${KRE_RUN_DIR_TEST:-$PWD/.run/test}"
export KRE_HOST_PIDS="$KRE_RUN_DIR_TEST/hosts"
step() { printf '\n== [%ss] %s\n' "$SECONDS" "$*"; }

cleanup() {
  set +e
  "$here/kafka.sh" stop test
  "$here/kafka.sh" stop cluster
  KRE_REDIS_PORT=26379 KRE_RUN_DIR="$KRE_RUN_DIR_TEST" "$here/redis.sh" stop
  KRE_REGISTRY_PORT=28081 KRE_REGISTRY_MGMT_PORT=29081 KRE_RUN_DIR="$KRE_RUN_DIR_TEST" "$here/registry.sh" stop
  # Safety net: no host the tests spawned may outlive them (each recorded its PID; a test that
  # crashed before dropping its host leaves the file behind). By PID only: never a name pattern,
  # which would also stop a developer's `make run`.
  for f in "$KRE_HOST_PIDS"/*; do
    [ -e "$f" ] || continue
    # Each host runs in its own process group (spin up has a child): the group, by its id.
    kill -- "-$(basename "$f")" 2>/dev/null; rm -f "$f"
  done
  # Last, so that the end of the output (all CI shows) says where a pass hung.
  [ ! -s "${hung:-}" ] || { echo; cat "$hung"; }
  true
}
trap cleanup EXIT INT TERM

# A pass that hangs fails with its name instead of running into CI's time limit, and says where
# it hung: every test binary of the pass gets its threads' backtraces printed (gdb) before the pass
# is stopped (its own session, by id; the hosts the tests started are stopped by cleanup).
hung="$KRE_RUN_DIR_TEST/hung.txt"
mkdir -p "$KRE_RUN_DIR_TEST"; rm -f "$hung"
bounded() {
  local secs=$1 rc=0 pid watchdog
  shift
  setsid "$@" &
  pid=$!
  (
    for ((i = 0; i < secs; i++)); do sleep 1; kill -0 "$pid" 2>/dev/null || exit 0; done
    echo "timed out after ${secs} s: $*" | tee -a "$hung" >&2
    for p in $(ps -eo pid=,sid= | awk -v s="$pid" '$2 == s {print $1}'); do
      exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
      case "$exe" in */target/debug/deps/*)
        { echo "hung in $(basename "$exe"): the project's frames of each thread, innermost first"
          gdb -batch -p "$p" -ex 'thread apply all bt 40' 2>/dev/null |
            sed -n 's/^#[0-9]* .* in \([a-z_0-9:]*\(kre_\|e2e_\|cluster_\)[^ ]*\) .* at \(.*\)$/  \1 \3/p; s/^\(Thread [0-9]*\).*"\(.*\)".*/\1 \2/p' |
            grep -v 'Thread.*"main"' | head -60; } | tee -a "$hung" >&2 || true ;;
      esac
    done
    kill -- "-$pid" 2>/dev/null; sleep 10; kill -KILL -- "-$pid" 2>/dev/null
  ) &
  watchdog=$!
  wait "$pid" || rc=$?
  wait "$watchdog" 2>/dev/null || true
  return "$rc"
}

step "tools"
"$here/install-tools.sh" all
"$here/install-tools.sh" python
"$here/install-tools.sh" shellcheck

step "build"
"$here/build.sh"

step "size: each artifact within its 4 MB budget"
for wasm in kafka_rest_edge kafka_rest_edge_p2; do
  size=$(stat -c %s "target/wasm32-wasip2/release/$wasm.wasm")
  echo "$wasm.wasm: $size bytes (budget 4000000)"
  [ "$size" -le 4000000 ] || { echo "$wasm.wasm grew past 4 MB" >&2; exit 1; }
done

step "Spin compatibility: each artifact against the Spin worlds it is for (wasm-tools component targets)"
shared_wit="${KRE_SPIN_WIT_DIR:-$PWD/../shared/wit}"
if [ -d "$shared_wit/spin-up-4.1.0" ]; then
  # WASI 0.3: exports wasi:http/handler@0.3.0, which only Spin >= 4.1 runs.
  wasm-tools component targets --world http-trigger "$shared_wit/spin-up-4.1.0" target/wasm32-wasip2/release/kafka_rest_edge.wasm
  echo "kafka_rest_edge.wasm targets spin:up@4.1.0/http-trigger"
  # WASI 0.2: its imports against each version's platform world (every Spin runs incoming-handler@0.2).
  for v in 3.6.0 4.0.0 4.1.0; do
    wasm-tools component targets --world platform "$shared_wit/spin-up-$v" target/wasm32-wasip2/release/kafka_rest_edge_p2.wasm
    echo "kafka_rest_edge_p2.wasm imports only what spin:up@$v/platform provides"
  done
elif [ -n "${CI:-}" ]; then
  echo "Spin's WIT not found at $shared_wit (set KRE_SPIN_WIT_DIR)" >&2; exit 1
else
  echo "skipped: Spin's WIT not found at $shared_wit (set KRE_SPIN_WIT_DIR to check)"
fi

step "lint"
shellcheck scripts/*.sh .ci/run
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --features kre-core/native -q -- -D warnings
cargo clippy --target wasm32-wasip2 -p kafka-rest-edge -p kafka-rest-edge-p2 -p kre-kv-redis -p kre-wasi-tcp -q -- -D warnings

step "unit tests"
cargo test -q -p kre-core -p kre-kv-redis --lib

step "fuzz: a short pass over every target (make fuzz runs longer)"
KRE_FUZZ_SECONDS="${KRE_FUZZ_SECONDS:-5}" "$here/fuzz.sh"

step "services: test broker + test Redis + Schema Registry"
"$here/kafka.sh" start test
KRE_REDIS_PORT=26379 KRE_RUN_DIR="$KRE_RUN_DIR_TEST" "$here/redis.sh" start
KRE_TEST_REGISTRY="$(KRE_REGISTRY_PORT=28081 KRE_REGISTRY_MGMT_PORT=29081 KRE_RUN_DIR="$KRE_RUN_DIR_TEST" "$here/registry.sh" start)"
export KRE_TEST_REGISTRY
# Confluent's own serializers (confluent-kafka from PyPI) for the interoperability tests.
export KRE_TEST_PYTHON="$KRE_CACHE/py-interop/bin/python"
# From here on a test whose environment is missing fails instead of skipping.
export KRE_TEST_STRICT=1

export KRE_TEST_BOOTSTRAP=127.0.0.1:29092
export KRE_TEST_REDIS=127.0.0.1:26379
# The test broker's secure listeners (29094-29098) and the certificates they use.
export KRE_TEST_SECURE=1
export KRE_TEST_CERTS="$PWD/.run/certs"
export KRE_WASMTIME="$KRE_TOOLS/bin/wasmtime"
KRE_KAFKA_JARS="$KRE_CACHE/kafka-jars-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)"
export KRE_KAFKA_JARS

step "client tests (native core against the real broker)"
bounded 1200 cargo test -q -p kre-core --features native --test '*'

# Both artifacts and both hosts: the whole suite runs on each artifact and on each host
# (WASI 0.3 under wasmtime serve, WASI 0.2 under Spin); the other two pairings run the state and
# v3 suites (key-value races, streaming), which is where hosts and artifacts differ.
step "end-to-end tests: WASI 0.3 artifact under wasmtime serve (HTTP → host → component → Kafka / Redis)"
# Every v3 answer is kept for the conformance check against the OpenAPI document (below).
export KRE_V3_CAPTURE="$KRE_RUN_DIR_TEST/v3-capture"
rm -rf "$KRE_V3_CAPTURE"
KRE_TEST_HOST=wasmtime KRE_TEST_ARTIFACT=p3 bounded 1200 cargo test -q -p kafka-rest-edge --test 'e2e_*' -- --test-threads 2

KRE_SPIN="${KRE_SPIN:-$(command -v spin || true)}"
[ -n "$KRE_SPIN" ] || KRE_SPIN="$PWD/../shared/tools/spin/spin"
if [ -x "$KRE_SPIN" ]; then
  export KRE_SPIN
  echo "Spin: $KRE_SPIN ($("$KRE_SPIN" --version))"
  step "end-to-end tests: WASI 0.2 artifact under spin up (Spin's key-value store on the test Redis)"
  KRE_TEST_HOST=spin KRE_TEST_ARTIFACT=p2 bounded 1200 cargo test -q -p kafka-rest-edge --test 'e2e_*' -- --test-threads 2
  step "end-to-end tests: racing writes on Spin's own key-value store (SQLite)"
  KRE_TEST_SPIN_KV=sqlite KRE_TEST_HOST=spin KRE_TEST_ARTIFACT=p2 bounded 1200 cargo test -q -p kafka-rest-edge --test e2e_state -- --test-threads 2
  step "end-to-end tests: the cross pairings (state and v3 suites)"
  KRE_TEST_HOST=spin KRE_TEST_ARTIFACT=p3 bounded 1200 cargo test -q -p kafka-rest-edge --test e2e_state --test e2e_v3 -- --test-threads 2
  KRE_TEST_HOST=wasmtime KRE_TEST_ARTIFACT=p2 bounded 1200 cargo test -q -p kafka-rest-edge --test e2e_state --test e2e_v3 -- --test-threads 2
elif [ -n "${CI:-}" ]; then
  echo "no spin on PATH and none at ../shared/tools/spin/spin: CI must test under Spin" >&2; exit 1
else
  echo "skipped: no spin on PATH or at ../shared/tools/spin/spin (the Spin runs); WASI 0.2 artifact under wasmtime instead"
  KRE_TEST_HOST=wasmtime KRE_TEST_ARTIFACT=p2 bounded 1200 cargo test -q -p kafka-rest-edge --test 'e2e_*' -- --test-threads 2
fi

step "3-broker cluster tests"
"$here/kafka.sh" start cluster
KRE_TEST_CLUSTER=127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094 \
  bounded 1200 cargo test -q -p kafka-rest-edge --test 'cluster_*' -- --test-threads 1

step "chaos, short: 30 s of produce through both artifacts while a broker, then the controller, is killed; then 24 s of REST consumers (and more producers) while the group coordinator, a proxy host and Redis fail; 20 s of HTTP fuzzing, 20 s of deep-structure fuzzing (no trap) (make chaos: the long run)"
KRE_CHAOS_SECONDS=30 KRE_CHAOS_CONSUME_SECONDS=24 KRE_CHAOS_HTTP_FUZZ_SECONDS=20 KRE_CHAOS_DEEP_FUZZ_SECONDS=20 KRE_CHAOS_LOAD_CONNECTIONS=200 KRE_CHAOS_LOAD_SECONDS=10 KRE_CHAOS_INSTANCES=1000 KRE_CHAOS_FUZZ_TARGETS=" " bounded 900 "$here/chaos.sh"

step "v3 conformance: every v3 answer above against Confluent's v3 OpenAPI document"
bounded 1200 cargo test -q -p kafka-rest-edge --test v3_conformance -- --nocapture
