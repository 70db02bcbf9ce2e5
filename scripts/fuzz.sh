#!/usr/bin/env bash
# `make fuzz`: every libFuzzer target in fuzz/ for a bounded time each (KRE_FUZZ_SECONDS, default
# 60), coverage-guided, on stable Rust (cargo-fuzz with `-s none`: no sanitizer, which would need
# nightly; Rust's own checks still turn overflows and bad indexing into crashes).
# Corpora grow in .run/fuzz/<target>, starting from fuzz/seeds/<target>; a crash leaves its input
# in fuzz/artifacts/<target>/ and fails the run. Prints executions per target.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
"$here/install-tools.sh" cargo-fuzz
seconds="${KRE_FUZZ_SECONDS:-60}"
targets="${KRE_FUZZ_TARGETS:-frame json_stream route negotiate rfc3339 resp registry_answer avro_record protobuf_record json_schema scram}"
# The fuzz crate has its own lock file and target dir (it is not a workspace member).
(cd fuzz && cargo fuzz build -s none -O >/dev/null)
total=0
for t in $targets; do
  corpus=".run/fuzz/$t"
  mkdir -p "$corpus"
  cp -n fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  log=".run/fuzz/$t.log"
  if ! (cd fuzz && cargo fuzz run -s none -O "$t" "../$corpus" -- -max_total_time="$seconds" -print_final_stats=1 >"../$log" 2>&1); then
    echo "fuzz: $t CRASHED — input in fuzz/artifacts/$t/, log in $log" >&2
    tail -30 "$log" >&2
    exit 1
  fi
  n="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  total=$((total + ${n:-0}))
  printf 'fuzz: %-12s %12s executions in %ss, 0 crashes\n' "$t" "${n:-?}" "$seconds"
done
printf 'fuzz: %s executions in all, 0 crashes\n' "$total"
