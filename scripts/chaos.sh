#!/usr/bin/env bash
# `make chaos`: acknowledged records survive broker failures, measured. A 3-broker cluster (topics
# with replication factor 3, min.insync.replicas=2, the proxy with producer_acks=all), two proxy
# hosts (the WASI 0.3 and the WASI 0.2 artifact under wasmtime serve) taking a sustained v2 produce
# load from several clients and one long v3 streaming request while, in turn: a broker is killed with SIGKILL and restarted, the
# active controller is killed and restarted, a partition's leader is moved by reassignment. Then
# every record is read back by the Kafka jars' own consumer (not this project's code) and each
# acknowledged record is looked for. Then three REST consumers of one group read the topic through
# both hosts while the group coordinator is killed, a proxy host is killed mid-request and Redis
# (their state) is restarted: every acknowledged record must be consumed, no committed offset may
# move backwards, no request may hang. Then an HTTP-level fuzz pass against both hosts (no 5xx,
# every error the reference's JSON body, both still serving) and a deep-structure fuzz pass (deep,
# wide and costly JSON, Avro, Protobuf and JSON Schema input and records, with a real Schema
# Registry: the same rules, and no trap in either host's log); then load: KRE_CHAOS_LOAD_CONNECTIONS
# (1000) concurrent keep-alive connections over both hosts for KRE_CHAOS_LOAD_SECONDS (30), and
# KRE_CHAOS_INSTANCES (10000) v2 consumer instances created, assigned and polled over 20 groups,
# left to expire (the hosts' instance timeout: KRE_CHAOS_INSTANCE_TIMEOUT_SECONDS, 45) and then
# swept out of the store by ordinary traffic (a tenth as many instances created and deleted in
# another group), with the hosts' RSS and the key-value store's size sampled every second; then
# the fuzz targets for a bounded time.
# Prints one table and a last line `chaos: <N> acknowledged, <L> lost, <D> duplicated, <H> hung, <C> crashes, <T> traps`.
# KRE_CHAOS_SECONDS (load duration, default 120), KRE_CHAOS_FUZZ_SECONDS (per target, default 40),
# KRE_CHAOS_FUZZ_TARGETS (default: all eleven), KRE_CHAOS_CONSUME_SECONDS (the consumers' fault
# window, default 60), KRE_CHAOS_HTTP_FUZZ_SECONDS (default 60), KRE_CHAOS_DEEP_FUZZ_SECONDS (default 60).
# Uses the 3-broker cluster's ports (19092-19094): not beside `make test`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
cd "$here/.."
SECS="${KRE_CHAOS_SECONDS:-120}"
FUZZ_SECS="${KRE_CHAOS_FUZZ_SECONDS:-40}"
BOOT=127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094
# The hosts' consumer instance timeout (seconds; Confluent's default is 300): the load phase waits
# for the instances to expire.
EXPIRY="${KRE_CHAOS_INSTANCE_TIMEOUT_SECONDS:-45}"
out="$(mktemp -d)"
hosts=()
cleanup() {
  set +e
  for p in "${hosts[@]}"; do kill -- "-$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  "$here/kafka.sh" stop cluster
  KRE_REDIS_PORT=46379 KRE_RUN_DIR="$PWD/.run/chaos" "$here/redis.sh" stop
  KRE_REGISTRY_PORT=48081 KRE_REGISTRY_MGMT_PORT=49081 KRE_RUN_DIR="$PWD/.run/chaos" "$here/registry.sh" stop
  rm -rf "$out"
}
trap cleanup EXIT INT TERM

"$here/build.sh" >/dev/null
cargo build -q --release -p kre-bench
BENCH=target/release/kre-bench
JARS="$KRE_CACHE/kafka-jars-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)"
jtool() { java -Xmx512m -cp "$JARS/*" -Dlog4j2.level=ERROR "$@"; }
"$here/kafka.sh" start cluster
KRE_REDIS_PORT=46379 KRE_RUN_DIR="$PWD/.run/chaos" "$here/redis.sh" start
# The deep-structure fuzz pass needs the schema formats: a Schema Registry of the run's own.
REGISTRY="$(KRE_REGISTRY_PORT=48081 KRE_REGISTRY_MGMT_PORT=49081 KRE_RUN_DIR="$PWD/.run/chaos" "$here/registry.sh" start)"
serve() { # PORT COMPONENT
  setsid env KAFKA_BOOTSTRAP_SERVERS=$BOOT KRE_REDIS_ADDR=127.0.0.1:46379 PRODUCER_ACKS=all SCHEMA_REGISTRY_URL="$REGISTRY" \
    CONSUMER_INSTANCE_TIMEOUT_MS=$((EXPIRY * 1000)) KRE_COMPONENT="$2" PORT="$1" "$here/serve.sh" >>"$out/hosts.log" 2>&1 &
  hosts+=($!)
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return; sleep 0.05; done
  echo "host on $1 did not start" >&2; exit 1
}
serve 48082 target/kafka-rest-edge.composed.wasm
serve 48083 target/kafka-rest-edge-p2.composed.wasm
BASE=http://127.0.0.1:48082
CLUSTER=$(curl -s "$BASE/v3/clusters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["cluster_id"])')
topic="chaos-$(date +%s)"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d "{\"topic_name\":\"$topic\",\"partitions_count\":6,\"replication_factor\":3,\"configs\":[{\"name\":\"min.insync.replicas\",\"value\":\"2\"}]}" \
  "$BASE/v3/clusters/$CLUSTER/topics"
sleep 2

echo "== load: 6 clients, v2 JSON batches of 50 through both hosts for ${SECS}s, faults meanwhile"
$BENCH chaos-produce "$BASE,http://127.0.0.1:48083" "$topic" 6 "$SECS" 50 "$out/outcomes" >"$out/load.txt" &
load=$!
step=$((SECS / 6))
event() { printf '[%4ss] %s\n' "$((SECONDS - t0))" "$*" | tee -a "$out/events"; }
t0=$SECONDS
sleep "$step"
event "SIGKILL broker 2 (node2)"; "$here/kafka.sh" kill-node node2
sleep "$step"
event "restart node2"; "$here/kafka.sh" start-node node2 >/dev/null
leader=$(jtool org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server $BOOT describe --status 2>/dev/null | sed -n 's/^LeaderId: *//p')
event "SIGKILL the active controller (node$leader)"; "$here/kafka.sh" kill-node "node$leader"
sleep "$step"
event "restart node$leader"; "$here/kafka.sh" start-node "node$leader" >/dev/null
# Partition 0's replicas rotated, then a preferred election: its leader moves to another broker.
replicas=$(curl -s "$BASE/v3/clusters/$CLUSTER/topics/$topic/partitions/0/replicas" | python3 -c '
import json,sys
r=json.load(sys.stdin)["data"]; leader=[x["broker_id"] for x in r if x["is_leader"]]; rest=[x["broker_id"] for x in r if not x["is_leader"]]
print(json.dumps(rest+leader))')
echo "{\"version\":1,\"partitions\":[{\"topic\":\"$topic\",\"partition\":0,\"replicas\":$replicas}]}" >"$out/reassign.json"
event "reassign partition 0 to replicas $replicas, then a preferred leader election"
jtool org.apache.kafka.tools.reassign.ReassignPartitionsCommand --bootstrap-server $BOOT \
  --reassignment-json-file "$out/reassign.json" --execute >>"$out/tools.log" 2>&1 || true
sleep 3
jtool org.apache.kafka.tools.LeaderElectionCommand --bootstrap-server $BOOT --election-type PREFERRED \
  --topic "$topic" --partition 0 >>"$out/tools.log" 2>&1 || true
wait $load
event "load done"
cat "$out/load.txt"

CSECS="${KRE_CHAOS_CONSUME_SECONDS:-60}"
group="chaos-group-$(date +%s)"
echo "== consume: 3 REST consumers in one group read it all through both hosts while 6 more clients produce for ${CSECS}s; faults meanwhile"
$BENCH chaos-produce "$BASE,http://127.0.0.1:48083" "$topic" 6 "$CSECS" 50 "$out/outcomes2" 100 >"$out/load2.txt" &
load2=$!
$BENCH chaos-consume "$BASE,http://127.0.0.1:48083" "$CLUSTER" "$topic" "$group" 3 "$CSECS" $((CSECS * 5)) "$out/consumed" >"$out/consume.txt" &
consume=$!
cstep=$((CSECS / 6))
t0=$SECONDS
sleep "$cstep"
coord=$(curl -s "$BASE/v3/clusters/$CLUSTER/consumer-groups/$group" | python3 -c '
import json,sys
try: print(json.load(sys.stdin)["coordinator"]["related"].rsplit("/",1)[1])
except Exception: print(1)')
event "SIGKILL the group coordinator (node$coord)"; "$here/kafka.sh" kill-node "node$coord"
sleep "$cstep"
event "restart node$coord"; "$here/kafka.sh" start-node "node$coord" >/dev/null
sleep "$cstep"
event "SIGKILL the WASI 0.2 host (port 48083), mid-request"; kill -KILL -- "-${hosts[1]}" 2>/dev/null || true
sleep "$cstep"
event "stop Redis (the consumers' state)"; KRE_REDIS_PORT=46379 KRE_RUN_DIR="$PWD/.run/chaos" "$here/redis.sh" stop >/dev/null
sleep 3
event "start Redis"; KRE_REDIS_PORT=46379 KRE_RUN_DIR="$PWD/.run/chaos" "$here/redis.sh" start >/dev/null
sleep "$cstep"
event "restart the WASI 0.2 host"; serve 48083 target/kafka-rest-edge-p2.composed.wasm
wait $load2
cat "$out/load2.txt"
wait $consume || { echo "chaos-consume failed" >&2; cat "$out/consume.txt" >&2; }
event "consume done"
grep -v '^STATUS' "$out/consume.txt"

echo "== read back with the Kafka jars' ConsoleConsumer"
jtool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server $BOOT --topic "$topic" \
  --from-beginning --timeout-ms 20000 >"$out/read.txt" 2>>"$out/tools.log" || true


HFUZZ="${KRE_CHAOS_HTTP_FUZZ_SECONDS:-60}"
echo "== HTTP fuzz: ${HFUZZ}s of malformed requests over the route table, both hosts"
$BENCH http-fuzz "$BASE,http://127.0.0.1:48083" "$CLUSTER" "$HFUZZ" >"$out/httpfuzz.txt" || true
grep -v '^FUZZ ' "$out/httpfuzz.txt" | grep -v '^FUZZBAD ' || true

DFUZZ="${KRE_CHAOS_DEEP_FUZZ_SECONDS:-60}"
echo "== deep-structure fuzz: ${DFUZZ}s of deep, wide and costly input and records, both hosts"
$BENCH deep-fuzz "$BASE,http://127.0.0.1:48083" "$CLUSTER" "$REGISTRY" "$DFUZZ" >"$out/deepfuzz.txt" || true
grep -v '^DEEP ' "$out/deepfuzz.txt" | grep -v '^DEEPBAD ' || true

LCONNS="${KRE_CHAOS_LOAD_CONNECTIONS:-1000}"
LSECS="${KRE_CHAOS_LOAD_SECONDS:-30}"
NINST="${KRE_CHAOS_INSTANCES:-10000}"
# Every second: seconds, both hosts' RSS (KiB), the store's keys and bytes used.
sample() {
  local t0=$SECONDS
  while :; do
    local rss0 rss1 keys mem
    rss0=$(ps -o rss= -p "${hosts[0]}" 2>/dev/null | tr -d ' ') || rss0=0
    rss1=$(ps -o rss= -p "${hosts[-1]}" 2>/dev/null | tr -d ' ') || rss1=0
    keys=$(redis-cli -p 46379 DBSIZE 2>/dev/null) || keys=0
    mem=$(redis-cli -p 46379 INFO memory 2>/dev/null | sed -n 's/^used_memory:\([0-9]*\).*/\1/p') || mem=0
    echo "$((SECONDS - t0)) ${rss0:-0} ${rss1:-0} ${keys:-0} ${mem:-0}"
    sleep 1
  done
}
echo "== load: $LCONNS connections over both hosts for ${LSECS}s, then $NINST consumer instances"
sample >"$out/samples.txt" &
sampler=$!
echo "PHASE connections $(wc -l <"$out/samples.txt")" >"$out/phases.txt"
# The kernel's view of the connection storm (machine-wide counters, read before and after):
# listen-queue overflows, and handshakes completed by SYN cookie whose check failed (a reset).
tcpext() { awk -v k="$1" '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (n[i] == k) print $i }' /proc/net/netstat 2>/dev/null || echo 0; }
ovf0=$(tcpext ListenOverflows); ckf0=$(tcpext SyncookiesFailed)
$BENCH load "$BASE,http://127.0.0.1:48083" "$CLUSTER" "$topic" "$LSECS" "$LCONNS" >"$out/loadc.txt" || true
echo "RESULT load_listen_overflows $(( $(tcpext ListenOverflows) - ovf0 ))" >>"$out/loadc.txt"
echo "RESULT load_syncookie_failures $(( $(tcpext SyncookiesFailed) - ckf0 ))" >>"$out/loadc.txt"
grep -v '^STATUS' "$out/loadc.txt" || true
echo "PHASE instances $(wc -l <"$out/samples.txt")" >>"$out/phases.txt"
iprefix="inst-$(date +%s)"
$BENCH instances "$BASE,http://127.0.0.1:48083" "$topic" "$NINST" 20 "$iprefix" >"$out/inst.txt" || true
grep -v '^STATUS\|^PROGRESS' "$out/inst.txt" || true
# What those instances occupy in the store: their keys and the bytes of their values.
ikeys="$out/inst-keys.txt"
redis-cli -p 46379 --scan --pattern "*$iprefix*" >"$ikeys" 2>/dev/null || true
echo "RESULT instances_store_keys $(wc -l <"$ikeys")" >>"$out/inst.txt"
echo "RESULT instances_store_bytes $(sed 's/^/STRLEN /' "$ikeys" | redis-cli -p 46379 2>/dev/null | awk '{s+=$1} END {print s+0}')" >>"$out/inst.txt"
# Left to expire; then ordinary traffic (instances created and deleted in another group) sweeps
# them out of the store: the store must shrink back.
echo "PHASE idle $(wc -l <"$out/samples.txt")" >>"$out/phases.txt"
sleep $((EXPIRY + 2))
echo "RESULT expired_store_keys $(redis-cli -p 46379 DBSIZE 2>/dev/null || echo 0)" >>"$out/inst.txt"
echo "PHASE churn $(wc -l <"$out/samples.txt")" >>"$out/phases.txt"
$BENCH churn "$BASE,http://127.0.0.1:48083" $((NINST / 10)) "$iprefix" >"$out/churn.txt" || true
grep -v '^STATUS' "$out/churn.txt" || true
echo "RESULT swept_store_keys $(redis-cli -p 46379 DBSIZE 2>/dev/null || echo 0)" >>"$out/inst.txt"
echo "RESULT instances_keys_left $(redis-cli -p 46379 --scan --pattern "*consumer/*$iprefix*" 2>/dev/null | wc -l)" >>"$out/inst.txt"
echo "PHASE after $(wc -l <"$out/samples.txt")" >>"$out/phases.txt"
sleep 3
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true

echo "== fuzz: each target for ${FUZZ_SECS}s (a crash is counted, and the next target runs)"
: >"$out/fuzz.txt"
for t in ${KRE_CHAOS_FUZZ_TARGETS:-json_stream route negotiate rfc3339 resp registry_answer avro_record protobuf_record json_schema scram frame}; do
  KRE_FUZZ_SECONDS="$FUZZ_SECS" KRE_FUZZ_TARGETS="$t" "$here/fuzz.sh" 2>&1 | grep -E "^fuzz: $t |CRASHED" | tee -a "$out/fuzz.txt" || true
done

# A trap (the host's log: "wasm trap") fails every request sharing the instance: none is allowed.
echo "RESULT host_traps $(grep -ci 'wasm trap' "$out/hosts.log" || true)" >"$out/traps.txt"

python3 - "$out" <<'PY'
import collections, json, re, sys
out = sys.argv[1]
r = {}
for f in ("load.txt", "load2.txt"):
    for line in open(f"{out}/{f}"):
        if line.startswith("RESULT "):
            _, name, value, *_ = line.split()
            v = float(value)
            r[name] = max(r.get(name, 0), v) if "longest" in name else r.get(name, 0) + v
outcome, why = {}, {}
for f in ("outcomes", "outcomes2"):
    for line in open(f"{out}/{f}"):
        kind, c, s, *rest = line.split()
        outcome[(int(c), int(s))] = kind
        if rest:
            why[(int(c), int(s))] = rest[0]
found = collections.Counter()
for line in open(f"{out}/read.txt"):
    try:
        v = json.loads(line)
        found[(v["c"], v["s"])] += 1
    except (ValueError, KeyError, TypeError):
        pass
acked = [k for k, v in outcome.items() if v == "A"]
lost = [k for k in acked if found[k] == 0]
dup = sum(n - 1 for n in found.values() if n > 1)
failed = [k for k, v in outcome.items() if v == "F"]
unanswered = [k for k, v in outcome.items() if v == "U"]
failed_present = sum(1 for k in failed + unanswered if found[k])
consumed = collections.Counter()
for line in open(f"{out}/consumed"):
    c, s = line.split()
    if c.isdigit() and s.isdigit():
        consumed[(int(c), int(s))] += 1
never_consumed = [k for k in acked if consumed[k] == 0]
cres, cstatus = {}, []
for line in open(f"{out}/consume.txt"):
    if line.startswith("RESULT "):
        _, name, value, *_ = line.split()
        cres[name] = float(value)
    elif line.startswith("STATUS "):
        _, n, what = line.rstrip("\n").split(" ", 2)
        cstatus.append((what, int(n)))
backwards = sum(n for what, n in cstatus if "backwards" in what)
hung = int(r.get("chaos_hung", 0)) + int(cres.get("consume_hung", 0))
hres, hcounts, hbad = {}, [], []
for line in open(f"{out}/httpfuzz.txt"):
    if line.startswith("RESULT "):
        _, name, value, *_ = line.split()
        hres[name] = value if name == "http_fuzz_seed" else float(value)
    elif line.startswith("FUZZBAD "):
        hbad.append(line.rstrip("\n").split(" ", 2)[1:])
    elif line.startswith("FUZZ "):
        hcounts.append(line.rstrip("\n").split(" ", 2)[1:])
dres, dcounts, dbad = {}, [], []
for f in ("deepfuzz.txt", "traps.txt"):
    for line in open(f"{out}/{f}"):
        if line.startswith("RESULT "):
            _, name, value, *_ = line.split()
            dres[name] = value if name == "deep_fuzz_seed" else float(value)
        elif line.startswith("DEEPBAD "):
            dbad.append(line.rstrip("\n").split(" ", 2)[1:])
        elif line.startswith("DEEP "):
            dcounts.append(line.rstrip("\n").split(" ", 2)[1:])
traps = int(dres.get("host_traps", 1))
lres, lstatus = {}, []
for f in ("loadc.txt", "inst.txt", "churn.txt"):
    try:
        for line in open(f"{out}/{f}"):
            if line.startswith("RESULT "):
                _, name, value, *_ = line.split()
                lres[name] = float(value)
            elif line.startswith("STATUS "):
                lstatus.append(line.rstrip("\n").split(" ", 3)[1:])
    except FileNotFoundError:
        pass
samples = []
try:
    for line in open(f"{out}/samples.txt"):
        p = line.split()
        if len(p) == 5:
            samples.append([int(x) if x.isdigit() else 0 for x in p])
except FileNotFoundError:
    pass
phases = {}
try:
    for line in open(f"{out}/phases.txt"):
        _, name, at = line.split()
        phases[name] = int(at)
except FileNotFoundError:
    pass
fuzz = open(f"{out}/fuzz.txt").read()
per_target = re.findall(r"fuzz: (\S+)\s+(\d+) executions in \d+s", fuzz)
execs = sum(int(n) for _, n in per_target)
crashed = re.findall(r"fuzz: (\S+) CRASHED", fuzz)
crashes = len(crashed)
print("\n== chaos (3 brokers, RF 3, min.insync.replicas 2, acks=all; WASI 0.3 + WASI 0.2 hosts)")
print(f"{'records sent':<44}{len(outcome):>12}")
print(f"{'acknowledged (an offset in the answer)':<44}{len(acked):>12}")
print(f"{'answered as failed (per record or request)':<44}{len(failed):>12}")
print(f"{'no answer (connection broken / timed out)':<44}{len(unanswered):>12}")
print(f"{'  of these, found on the topic anyway':<44}{failed_present:>12}")
# Every failed or unanswered record by what the client was told (status/error_code, or why none).
for (kind, reason), n in sorted(collections.Counter((outcome[k], why.get(k, "?")) for k in failed + unanswered).items(), key=lambda x: -x[1])[:12]:
    label = ("failed " if kind == "F" else "unanswered ") + reason
    print(f"{'    ' + label:<44}{n:>12}")
print(f"{'v3 streaming request: records / reports':<44}{r.get('chaos_stream_records', 0):>12.0f} / {r.get('chaos_stream_reported', 0):.0f} in {r.get('chaos_streams', 0):.0f} request(s)")
print(f"{'read back (Kafka ConsoleConsumer)':<44}{sum(found.values()):>12}")
print(f"{'acknowledged but lost':<44}{len(lost):>12}")
print(f"{'duplicates (at-least-once retries)':<44}{dup:>12}")
print(f"{'longest wait for an answer (ms)':<44}{r.get('chaos_longest_wait_ms', float('nan')):>12.0f}")
print(f"{'requests':<44}{r.get('chaos_requests', 0):>12.0f}")
print("REST consumers (3, one group, both hosts, beside 6 more producers; coordinator killed, a host killed, Redis restarted)")
print(f"{'  records consumed (repeats included)':<44}{sum(consumed.values()):>12}")
print(f"{'  acknowledged but never consumed':<44}{len(never_consumed):>12}")
print(f"{'  committed offsets that moved backwards':<44}{backwards:>12}")
print(f"{'  longest wait for an answer (ms)':<44}{cres.get('consume_longest_wait_ms', float('nan')):>12.0f}")
print(f"{'  seconds until all had read to the end':<44}{cres.get('consume_seconds', float('nan')):>12.1f}")
for what, n in cstatus:
    print(f"{'    ' + what:<44}{n:>12}")
print(f"HTTP fuzz (both hosts, {hres.get('http_fuzz_requests', 0):.0f} requests, seed {hres.get('http_fuzz_seed', '?')})")
for n, what in hcounts:
    print(f"{'    ' + what:<44}{int(n):>12}")
print(f"{'  answers that are defects (5xx, no JSON error)':<44}{hres.get('http_fuzz_bad', -1):>12.0f}")
for n, what in hbad[:20]:
    print(f"      {n} × {what}")
print(f"{'  hosts serving afterwards':<44}{hres.get('http_fuzz_hosts_serving', 0):>12.0f}")
print(f"Deep-structure fuzz (both hosts, {dres.get('deep_fuzz_requests', 0):.0f} requests, seed {dres.get('deep_fuzz_seed', '?')})")
for n, what in dcounts:
    print(f"{'    ' + what:<60}{int(n):>8}")
print(f"{'  answers that are defects (5xx, no JSON error)':<44}{dres.get('deep_fuzz_bad', -1):>12.0f}")
for n, what in dbad[:20]:
    print(f"      {n} × {what}")
print(f"{'  hosts serving afterwards':<44}{dres.get('deep_fuzz_hosts_serving', 0):>12.0f}")
print(f"{'traps in the hosts logs (whole run)':<44}{traps:>12}")
print(f"Load ({lres.get('load_connections', 0):.0f} concurrent connections over both hosts, then {lres.get('instances_created', 0):.0f} consumer instances)")
for label, what in (("load", "connections"), ("instances", "instances (create, assign, poll)"), ("churn", "after expiry: created and deleted again")):
    print(f"  {what}: {lres.get(label + '_answers', 0):.0f} answers, {lres.get(label + '_per_s', 0):.0f}/s, p50 {lres.get(label + '_p50_ms', float('nan')):.1f} ms, p99 {lres.get(label + '_p99_ms', float('nan')):.1f} ms, max {lres.get(label + '_max_ms', float('nan')):.0f} ms, 5xx {lres.get(label + '_5xx', -1):.0f}, past the 30 s deadline {lres.get(label + '_over_deadline', -1):.0f}, unanswered {lres.get(label + '_unanswered', -1):.0f} ({lres.get(label + '_unanswered_reused', -1):.0f} on a connection already in use)")
for label, n, what in lstatus:
    if not what.split()[-1].startswith("2"):
        print(f"{'    ' + label + ' ' + what:<44}{int(n):>12}")
print(f"{'  kernel: listen-queue overflows':<44}{lres.get('load_listen_overflows', 0):>12.0f}")
print(f"{'  kernel: SYN-cookie checks failed (resets)':<44}{lres.get('load_syncookie_failures', 0):>12.0f}")
if samples:
    def at(i):
        return samples[min(max(i, 0), len(samples) - 1)]
    start, inst0, after = phases.get("connections", 0), phases.get("instances", 0), phases.get("after", len(samples) - 1)
    idle, swept = phases.get("idle", after), phases.get("churn", after)
    print("  host RSS (MiB, WASI 0.3 / WASI 0.2) and key-value store (keys, MiB) over time:")
    # Before, under the connections, through the instances, idle until they expired, swept, after.
    marks = [start, (start + inst0) // 2, inst0] + [inst0 + (idle - inst0) * q // 4 for q in range(1, 5)]
    marks = sorted(set(marks + [(idle + swept) // 2, swept, after, len(samples) - 1]))
    for i in marks:
        t, r0, r1, keys, mem = at(i)
        print(f"    t={t:>4}s  RSS {r0 / 1024:7.1f} / {r1 / 1024:7.1f}   store {keys:>7} keys {mem / 1048576:7.1f} MiB")
    rss = [s[1] for s in samples[start:] if s[1]] + [s[2] for s in samples[start:] if s[2]]
    created = lres.get("instances_created", 0)
    print(f"{'  peak host RSS (MiB)':<44}{max(rss) / 1024 if rss else float('nan'):>12.1f}")
    if created:
        print(f"{'  store keys of the instances (per instance)':<44}{lres.get('instances_store_keys', 0):>12.0f} ({lres.get('instances_store_keys', 0) / created:.2f})")
        print(f"{'  their values, bytes (per instance)':<44}{lres.get('instances_store_bytes', 0):>12.0f} ({lres.get('instances_store_bytes', 0) / created:.0f})")
        print(f"{'  store keys once expired / after the sweep':<44}{lres.get('expired_store_keys', 0):>12.0f} / {lres.get('swept_store_keys', 0):.0f}")
        print(f"{'  keys of the instances left after the sweep':<44}{lres.get('instances_keys_left', -1):>12.0f}")
for t, n in per_target:
    print(f"{'  fuzz ' + t + ' executions':<44}{int(n):>12}")
for t in crashed:
    print(f"  fuzz {t}: CRASHED")
print(f"{'fuzz executions (all targets)':<44}{execs:>12}")
print(f"chaos: {len(acked)} acknowledged, {len(lost)} lost, {dup} duplicated, {hung} hung, {crashes} crashes, {traps} traps")
fuzz_bad = hres.get("http_fuzz_bad", 1) > 0 or hres.get("http_fuzz_hosts_serving", 0) < 2
fuzz_bad = fuzz_bad or dres.get("deep_fuzz_bad", 1) > 0 or dres.get("deep_fuzz_hosts_serving", 0) < 2 or traps > 0
# A 5xx, an answer past its deadline, or a request lost on a connection already in use (a new
# connection's first request reset by the kernel's SYN-cookie check is counted, not failed: it
# never reached a host).
load_bad = any(lres.get(f"{l}_{k}", 1) > 0 for l in ("load", "instances", "churn") for k in ("5xx", "over_deadline", "unanswered_reused"))
# Expired instances must leave the store (a few may wait for a later sweep: at most 1 %).
load_bad = load_bad or lres.get("instances_keys_left", 1) > 0.01 * 2 * lres.get("instances_created", 0)
sys.exit(1 if lost or never_consumed or backwards or hung or fuzz_bad or load_bad or crashed else 0)
PY
