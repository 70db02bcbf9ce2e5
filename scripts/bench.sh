#!/usr/bin/env bash
# `make bench`: produce benchmarks, native baseline and REST through the served component, in one
# invocation against the same local broker (127.0.0.1:39092), printed as ratios.
#   native: Apache Kafka's ProducerPerformance (the jars' own producer) for throughput; single-record
#           Produce round trips from kre-core natively for latency (sub-millisecond resolution)
#   REST:   v2 binary produce of 1 KiB records at 1/100/500 records per request with 8 clients,
#           single-record latency, a 60 s v3 streaming produce
# KRE_BENCH_SECONDS (default 15) sets each throughput run; KRE_BENCH_STREAM_SECONDS (default 60).
# KRE_BENCH_ONLY=consume runs just what the consume comparison needs (the 500-record produce that
# fills its topic, then both consumers): about 1.5 minutes. KRE_BENCH_ONLY=hosts: the WASI 0.3
# baseline (500/request, single record, consume), the WASI 0.2 artifact beside it and the
# warm/new-instance figures per host: about 4 minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
SECS="${KRE_BENCH_SECONDS:-15}"
STREAM_SECS="${KRE_BENCH_STREAM_SECONDS:-60}"
ONLY="${KRE_BENCH_ONLY:-all}"
want() { # SECTION: whether this run includes it
  case "$ONLY:$1" in all:*) return 0 ;; consume:consume | hosts:hosts | hosts:latency) return 0 ;; *) return 1 ;; esac
}
PORT=38082
BOOT=127.0.0.1:39092
BASE="http://127.0.0.1:$PORT"
out="$(mktemp -d)"
serve_pid=""
extra_pid=""
cleanup() {
  set +e
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  [ -n "$extra_pid" ] && kill -- "-$extra_pid" 2>/dev/null && wait "$extra_pid" 2>/dev/null
  "$here/kafka.sh" stop bench
  KRE_REDIS_PORT=36379 KRE_RUN_DIR="$PWD/.run/bench" "$here/redis.sh" stop
  KRE_REGISTRY_PORT=38081 KRE_REGISTRY_MGMT_PORT=39081 KRE_RUN_DIR="$PWD/.run/bench" "$here/registry.sh" stop
  rm -rf "$out"
}
trap cleanup EXIT INT TERM

# KRE_COMPONENT: bench another build of the component (e.g. an earlier commit's) with this harness.
if [ -z "${KRE_COMPONENT:-}" ]; then "$here/build.sh"; fi
cargo build -q --release -p kre-bench
BENCH=target/release/kre-bench
"$here/kafka.sh" start bench
KRE_REDIS_PORT=36379 KRE_RUN_DIR="$PWD/.run/bench" "$here/redis.sh" start
REGISTRY="$(KRE_REGISTRY_PORT=38081 KRE_REGISTRY_MGMT_PORT=39081 KRE_RUN_DIR="$PWD/.run/bench" "$here/registry.sh" start)"
SCHEMA_REGISTRY_URL=$REGISTRY KAFKA_BOOTSTRAP_SERVERS=$BOOT KRE_REDIS_ADDR=127.0.0.1:36379 PORT=$PORT "$here/serve.sh" >"$out/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "$BASE/v3/clusters" && break; sleep 0.1; done
CLUSTER=$(curl -s "$BASE/v3/clusters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["cluster_id"])')
run_id=$(date +%s)
mk() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d "{\"topic_name\":\"$1\",\"partitions_count\":3}" "$BASE/v3/clusters/$CLUSTER/topics"; }
for t in native nativesasl rest1 rest100 rest500 rest500sasl avro500 protobuf500 jsonschema500 lat stream; do mk "bench-$t-$run_id" >/dev/null; done

JARS="$KRE_CACHE/kafka-jars-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)"
if want native; then
echo "== native: ProducerPerformance, 1 KiB records, acks=all"
java -Xmx1g -cp "$JARS/*" -Dlog4j2.level=WARN org.apache.kafka.tools.ProducerPerformance \
  --topic "bench-native-$run_id" --num-records 600000 --record-size 1024 --throughput -1 \
  --producer-props bootstrap.servers=$BOOT acks=all linger.ms=5 batch.size=262144 | tee "$out/native.txt" | tail -1
python3 - "$out/native.txt" >>"$out/results" <<'PY'
import re, sys
last = [l for l in open(sys.argv[1]) if "records sent" in l][-1]
m = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\)", last)
print(f"RESULT native_records_per_s {m.group(1)} records/s")
print(f"RESULT native_mb_per_s {m.group(2)} MB/s")
PY
$BENCH native-latency "$BOOT" "bench-lat-$run_id" 2000 | tee -a "$out/results"
fi

echo "== REST (wasmtime serve, composed component), 8 clients"
if [ "$ONLY" = all ]; then sizes="1 100 500"; else sizes=500; fi
for b in $sizes; do $BENCH produce "$BASE" "bench-rest$b-$run_id" "$b" 8 "$SECS" | tee -a "$out/results"; done
if want consume; then
for f in avro protobuf jsonschema; do
echo "== REST $f (Schema Registry), 500 records of ~1 KiB per request, 8 clients"
$BENCH produce "$BASE" "bench-${f}500-$run_id" 500 8 "$SECS" $f | tee -a "$out/results"
done
fi
if want latency; then
$BENCH produce-latency "$BASE" "bench-lat-$run_id" 2000 | tee -a "$out/results"
fi
serve_on() { # PORT VAR=VALUE...: one more host, its pid in extra_pid, ready for HTTP (no Kafka touched yet)
  local port=$1; shift
  # Its own process group (setsid): `spin up` runs the trigger as a child, stopped with it.
  setsid env "$@" PORT="$port" "$here/serve.sh" >>"$out/extra.log" 2>&1 &
  extra_pid=$!
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$port/ready-probe" && return; sleep 0.05; done
  echo "host on $port did not start:" >&2; tail -40 "$out/extra.log" >&2; exit 1
}
stop_extra() { kill -- "-$extra_pid" 2>/dev/null; wait "$extra_pid" 2>/dev/null || true; extra_pid=""; }
plaintext=("KAFKA_BOOTSTRAP_SERVERS=$BOOT" KRE_REDIS_ADDR=127.0.0.1:36379)
if want stream; then
$BENCH stream "$BASE" "$CLUSTER" "bench-stream-$run_id" "$STREAM_SECS" | tee -a "$out/results"

# The same component against the bench broker's SASL_SSL listener (TLS 1.3, SCRAM-SHA-512 as the
# broker's admin user; scripts/kafka.sh), on another port.
CA_PEM="$(cat .run/certs/ca.pem)"
sasl_ssl=(KAFKA_BOOTSTRAP_SERVERS=broker1.kre.test:39095 KAFKA_HOST_MAP=broker1.kre.test=127.0.0.1
  KAFKA_SECURITY_PROTOCOL=SASL_SSL KAFKA_SASL_MECHANISM=SCRAM-SHA-512 KAFKA_SASL_USERNAME=admin
  KAFKA_SASL_PASSWORD=admin-secret "KAFKA_TLS_CA_PEM=$CA_PEM" KRE_REDIS_ADDR=127.0.0.1:36379)
echo "== native over SASL_SSL (SCRAM-SHA-512): ProducerPerformance, the same settings as above"
# The broker advertises broker1.kre.test on that listener: the JVM resolves it from a hosts file.
echo "127.0.0.1 broker1.kre.test" > "$out/hosts"
printf '%s\n' security.protocol=SASL_SSL sasl.mechanism=SCRAM-SHA-512 ssl.truststore.type=PEM \
  "ssl.truststore.location=$PWD/.run/certs/ca.pem" \
  'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";' \
  > "$out/sasl.properties"
java -Xmx1g -Djdk.net.hosts.file="$out/hosts" -cp "$JARS/*" -Dlog4j2.level=WARN org.apache.kafka.tools.ProducerPerformance \
  --topic "bench-nativesasl-$run_id" --num-records 300000 --record-size 1024 --throughput -1 \
  --producer.config "$out/sasl.properties" \
  --producer-props bootstrap.servers=broker1.kre.test:39095 acks=all linger.ms=5 batch.size=262144 | tee "$out/nsasl.txt" | tail -1
python3 - "$out/nsasl.txt" >>"$out/results" <<'PY'
import re, sys
last = [l for l in open(sys.argv[1]) if "records sent" in l][-1]
rate = re.search(r"([\d.]+) records/sec", last).group(1)
print(f"RESULT native_sasl_ssl_records_per_s {rate} records/s")
PY
echo "== REST over SASL_SSL (SCRAM-SHA-512) vs PLAINTEXT: 500 x 1 KiB per request, 8 clients"
serve_on 38083 "${sasl_ssl[@]}"
$BENCH produce "http://127.0.0.1:38083" "bench-rest500sasl-$run_id" 500 8 "$SECS" \
  | sed 's/rest_produce_b500_/rest_sasl_ssl_produce_b500_/' | tee -a "$out/results"
stop_extra
echo "== first request of a new instance (connect, [TLS, SASL,] ApiVersions, DescribeCluster): 20 fresh hosts each"
for label in plaintext sasl_ssl; do
  if [ $label = plaintext ]; then vars=("${plaintext[@]}"); else vars=("${sasl_ssl[@]}"); fi
  for _ in $(seq 1 20); do
    serve_on 38084 "${vars[@]}"
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:38084/v3/clusters" >>"$out/first-$label"
    stop_extra
  done
  python3 - "$out/first-$label" "$label" >>"$out/results" <<'PY'
import sys
t = sorted(float(l) * 1000 for l in open(sys.argv[1]) if l.strip())
print(f"RESULT first_request_{sys.argv[2]}_p50_ms {t[len(t) // 2]:.1f} ms")
print(f"RESULT first_request_{sys.argv[2]}_p99_ms {t[min(len(t) - 1, int(len(t) * 0.99))]:.1f} ms")
PY
done
grep first_request "$out/results"
fi

echo "== consume: native ConsumerPerformance vs one REST consumer (max_bytes 1 MiB), same topic"
java -Xmx1g -cp "$JARS/*" -Dlog4j2.level=WARN org.apache.kafka.tools.ConsumerPerformance \
  --bootstrap-server $BOOT --topic "bench-rest500-$run_id" --messages 1000000 --timeout 20000 | tee "$out/nconsume.txt" | tail -1
python3 - "$out/nconsume.txt" >>"$out/results" <<'PY'
import sys
rows = [l.strip().split(", ") for l in open(sys.argv[1]) if l.count(",") >= 5 and not l.startswith("start.time")]
print(f"RESULT native_consume_records_per_s {float(rows[-1][5]):.0f} records/s")
# ConsumerPerformance's own steady-state figure (fetch time only, without start-up and joining).
print(f"RESULT native_consume_fetch_records_per_s {float(rows[-1][9]):.0f} records/s")
PY
$BENCH consume "$BASE" "bench-group-$run_id" "bench-rest500-$run_id" 20 | tee -a "$out/results"
if want consume; then
for f in avro protobuf jsonschema; do
echo "== consume $f: one REST $f consumer of the $f produce's topic"
$BENCH consume "$BASE" "bench-$f-group-$run_id" "bench-${f}500-$run_id" 20 $f | tee -a "$out/results"
done

echo "== consume round trips: one REST consumer of a 6-partition topic, 100,000 1 KiB records"
mk6() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"topic_name\":\"$1\",\"partitions_count\":6}" "$BASE/v3/clusters/$CLUSTER/topics"; }
mk6 "bench-six-$run_id"
java -Xmx1g -cp "$JARS/*" -Dlog4j2.level=WARN org.apache.kafka.tools.ProducerPerformance \
  --topic "bench-six-$run_id" --num-records 100000 --record-size 1024 --throughput -1 \
  --producer-props bootstrap.servers=$BOOT acks=all linger.ms=5 batch.size=65536 >/dev/null
$BENCH consume "$BASE" "bench-six-group-$run_id" "bench-six-$run_id" 20 six | tee -a "$out/results"
# What one idle consumer instance occupies: its record in the key-value store (nothing in memory).
key=$(redis-cli -p 36379 --scan --pattern "kre:default:consumer/*bench-group-$run_id*" | head -1)
echo "RESULT idle_consumer_store_bytes $(redis-cli -p 36379 STRLEN "$key") bytes" | tee -a "$out/results"
fi

if want hosts; then
echo "== the WASI 0.2 artifact, side by side (same broker and Redis, wasmtime serve, its own port)"
mk "bench-p2rest500-$run_id" >/dev/null
KRE_COMPONENT=target/kafka-rest-edge-p2.composed.wasm serve_on 38085 "${plaintext[@]}"
P2=http://127.0.0.1:38085
p2() { sed 's/^RESULT rest_/RESULT p2_rest_/' | tee -a "$out/results"; }
$BENCH produce "$P2" "bench-p2rest500-$run_id" 500 8 "$SECS" | p2
$BENCH produce-latency "$P2" "bench-lat-$run_id" 2000 | p2
$BENCH consume "$P2" "bench-p2-group-$run_id" "bench-rest500-$run_id" 20 | p2
stop_extra
fi

if want hosts; then
echo "== edge: a warm instance vs a new one (after the host's 1 s idle drop), GET /v3/clusters/{id}, per host and artifact"
for pair in "wasmtime p3" "wasmtime p2" "spin p3" "spin p2"; do
  # shellcheck disable=SC2086 # the pair is split into its two words on purpose
  set -- $pair
  if [ "$1" = spin ]; then
    spin="$(command -v spin || true)"; [ -n "$spin" ] || spin="$PWD/../shared/tools/spin/spin"
    [ -x "$spin" ] || { echo "no spin: skipping the Spin pairs"; continue; }
    comp=target/wasm32-wasip2/release/kafka_rest_edge.wasm; [ "$2" = p2 ] && comp=target/wasm32-wasip2/release/kafka_rest_edge_p2.wasm
  else
    comp=target/kafka-rest-edge.composed.wasm; [ "$2" = p2 ] && comp=target/kafka-rest-edge-p2.composed.wasm
  fi
  HOST=$1 KRE_COMPONENT=$comp serve_on 38086 "${plaintext[@]}"
  $BENCH edge "http://127.0.0.1:38086/v3/clusters/$CLUSTER" "$1_$2" 15 | tee -a "$out/results"
  stop_extra
done
fi

python3 - "$out/results" <<'PY'
import sys
r = {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        _, name, value, *_ = line.split()
        r[name] = float(value)
n = r.get("native_records_per_s")
print("\n== summary (REST ÷ native; same broker, same machine)")
if n:
    for b in (1, 100, 500):
        v = r[f"rest_produce_b{b}_records_per_s"]
        print(f"REST {b:>3} records/request: {v:>10.0f} records/s {r[f'rest_produce_b{b}_mb_per_s']:7.2f} MB/s   ratio {v/n:5.2f}")
    s = r["rest_stream_records_per_s"]
    print(f"REST streaming (60 s):      {s:>10.0f} records/s {r['rest_stream_mb_per_s']:7.2f} MB/s   ratio {s/n:5.2f}  (vs 500/request {s/r['rest_produce_b500_records_per_s']:.2f})")
    print(f"native ProducerPerformance: {n:>10.0f} records/s {r['native_mb_per_s']:7.2f} MB/s")
    print(f"single record p50: REST {r['rest_single_p50_ms']:.3f} ms, native {r['native_single_p50_ms']:.3f} ms, added {r['rest_single_p50_ms']-r['native_single_p50_ms']:+.3f} ms")
c = r.get("rest_consume_records_per_s"); nc = r.get("native_consume_records_per_s")
if c and nc:
    print(f"consume, 1 KiB records:     {c:>10.0f} records/s (one REST consumer)   native ConsumerPerformance {nc:.0f}   ratio {c/nc:5.2f}")
    nf = r.get("native_consume_fetch_records_per_s")
    if nf:
        print(f"  against ConsumerPerformance's fetch-only rate {nf:.0f} records/s (no start-up, no join): ratio {c/nf:5.2f}")
b = r.get("rest_produce_b500_records_per_s")
for f in ("avro", "protobuf", "jsonschema"):
    a = r.get(f"rest_{f}_produce_b500_records_per_s")
    if a and b:
        print(f"{f + ' produce 500/request:':<28}{a:>10.0f} records/s   vs binary {b:.0f}   ratio {a/b:5.2f}")
    ac = r.get(f"rest_{f}_consume_records_per_s")
    if ac and c:
        print(f"{f + ' consume:':<28}{ac:>10.0f} records/s   vs binary {c:.0f}   ratio {ac/c:5.2f}")
if "rest_six_consume_round_trips_per_100k" in r:
    print(f"consume round trips per 100,000 records: 3 partitions {r['rest_consume_round_trips_per_100k']:.0f}, 6 partitions {r.get('rest_six_consume_round_trips_per_100k', float('nan')):.0f} (max_bytes 1 MiB ≈ 1,000 records: 100 is the floor)")
s = r.get("rest_sasl_ssl_produce_b500_records_per_s"); p = r.get("rest_produce_b500_records_per_s")
if s and p:
    print(f"SASL_SSL 500 records/request: {s:>8.0f} records/s   vs PLAINTEXT {p:.0f}   ratio {s/p:5.2f}")
    ns = r.get("native_sasl_ssl_records_per_s")
    if ns and n:
        print(f"  the Java producer's own SASL_SSL ÷ PLAINTEXT on this machine: {ns:.0f} ÷ {n:.0f} = {ns/n:5.2f}")
if "first_request_sasl_ssl_p50_ms" in r:
    print(f"first request of a new instance: PLAINTEXT p50 {r['first_request_plaintext_p50_ms']:.1f} ms p99 {r['first_request_plaintext_p99_ms']:.1f} ms; "
          f"SASL_SSL p50 {r['first_request_sasl_ssl_p50_ms']:.1f} ms p99 {r['first_request_sasl_ssl_p99_ms']:.1f} ms")
if "idle_consumer_store_bytes" in r:
    print(f"idle consumer instance: {r['idle_consumer_store_bytes']:.0f} bytes in the key-value store, none in the proxy's memory")
q = r.get("p2_rest_produce_b500_records_per_s")
if q:
    print("WASI 0.2 artifact ÷ WASI 0.3 artifact (both under wasmtime serve):")
    print(f"  produce 500/request: {q:>10.0f} vs {r['rest_produce_b500_records_per_s']:.0f} records/s   ratio {q/r['rest_produce_b500_records_per_s']:5.2f}")
    print(f"  single record p50:   {r['p2_rest_single_p50_ms']:.3f} vs {r['rest_single_p50_ms']:.3f} ms   ratio (0.3 time ÷ 0.2 time) {r['rest_single_p50_ms']/r['p2_rest_single_p50_ms']:5.2f}")
    print(f"  single record p99:   {r['p2_rest_single_p99_ms']:.3f} vs {r['rest_single_p99_ms']:.3f} ms")
    qc = r.get("p2_rest_consume_records_per_s")
    if qc and c:
        print(f"  consume:             {qc:>10.0f} vs {c:.0f} records/s   ratio {qc/c:5.2f}")
edge = [(h, a) for h in ("wasmtime", "spin") for a in ("p3", "p2") if f"edge_{h}_{a}_warm_p50_ms" in r]
if edge:
    print("a request to a warm instance vs a new one (GET /v3/clusters/{id}; p50 / p99 ms):")
    for h, a in edge:
        k = f"edge_{h}_{a}"
        print(f"  {h:>8} {'WASI 0.3' if a == 'p3' else 'WASI 0.2'}: warm {r[k + '_warm_p50_ms']:7.2f} / {r[k + '_warm_p99_ms']:7.2f}   new instance {r[k + '_new_instance_p50_ms']:7.2f} / {r[k + '_new_instance_p99_ms']:7.2f}")
if n:
    print(f"single record p99: REST {r['rest_single_p99_ms']:.3f} ms, native {r['native_single_p99_ms']:.3f} ms, added {r['rest_single_p99_ms']-r['native_single_p99_ms']:+.3f} ms")
PY
