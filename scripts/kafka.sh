#!/usr/bin/env bash
# Apache Kafka for development and tests: jars from the Maven repository (cached), KRaft mode on 127.0.0.1.
#
#   scripts/kafka.sh fetch              download the broker + tools jars once
#   scripts/kafka.sh start [single|test|cluster]
#       single : one combined broker+controller, PLAINTEXT 127.0.0.1:9092 (controller 9093)
#       test   : the same on 127.0.0.1:29092 (controller 29093), for `make test`
#       bench  : the same on 127.0.0.1:39092 (controller 39093), for `make bench`
#       cluster: three combined broker+controllers, 127.0.0.1:19092,19093,19094 (controllers 19192..19194)
#   scripts/kafka.sh stop [single|cluster|all]
#   scripts/kafka.sh status
#   scripts/kafka.sh foreground         single broker in the foreground (make run)
#
# Storage is formatted on first start; start is a no-op when the nodes already run. Stops by PID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"

KAFKA_JARS="$KRE_CACHE/kafka-jars-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")"
RUN_DIR="${KRE_RUN_DIR:-$here/../.run}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
# Fixed ids keep re-formatting unnecessary between runs; the cluster id is what v3 reports as cluster_id.
SINGLE_CLUSTER_ID="${KRE_SINGLE_CLUSTER_ID:-kre-single-cluster-01}"
MULTI_CLUSTER_ID="${KRE_MULTI_CLUSTER_ID:-kre-three-brokers-001}"
JAVA="${JAVA:-java}"

fetch() {
  if [ -f "$KAFKA_JARS/.complete" ]; then return; fi
  echo "[kafka] fetching jars into $KAFKA_JARS"
  rm -rf "$KAFKA_JARS.tmp"
  (cd "$here/kafka" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_JARS.tmp")
  rm -rf "$KAFKA_JARS"; mv "$KAFKA_JARS.tmp" "$KAFKA_JARS"; touch "$KAFKA_JARS/.complete"
}

# node_config NAME NODE_ID PORT CONTROLLER_PORT VOTERS REPLICATION
node_config() {
  local name=$1 id=$2 port=$3 cport=$4 voters=$5
  local dir="$RUN_DIR/kafka-$name"
  mkdir -p "$dir"
  # The end-to-end tests write records with times years ago (CreateTime round trips): time-based
  # retention would delete them whenever its check happens to run. Other brokers keep the default.
  local retention=""
  [ "$name" = test ] && retention=$'log.retention.ms=-1\n'
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=$6
transaction.state.log.replication.factor=$6
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=$6
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
$retention# ACL endpoints work locally: StandardAuthorizer, the (anonymous) proxy principal is a super user,
# everything allowed where no ACL matches.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=true
PROPS
  cat > "$dir/log4j2.yaml" <<LOG
Configuration:
  Appenders:
    File:
      name: file
      fileName: "$dir/server.log"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: file
LOG
}

classpath() { echo "$KAFKA_JARS/*"; }

jvm() {
  local dir=$1; shift
  "$JAVA" -Xms128m -Xmx${KRE_KAFKA_HEAP:-512m} -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dlog4j2.configurationFile="$dir/log4j2.yaml" -cp "$(classpath)" "$@"
}

format_node() {
  local name=$1 cluster_id=$2 dir="$RUN_DIR/kafka-$1"
  if [ -f "$dir/data/meta.properties" ]; then return; fi
  jvm "$dir" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; exit 1; }
}

running() { local pidf="$RUN_DIR/kafka-$1/pid"; [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

start_node() {
  local name=$1 dir="$RUN_DIR/kafka-$1"
  if running "$name"; then return; fi
  : > "$dir/server.log"
  nohup bash -c "exec $(printf '%q ' "$JAVA") -Xms128m -Xmx${KRE_KAFKA_HEAP:-512m} -XX:+UseG1GC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile=$(printf '%q' "$dir/log4j2.yaml") -cp $(printf '%q' "$(classpath)") kafka.Kafka $(printf '%q' "$dir/server.properties")" \
    >"$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
}

wait_ready() {
  local name=$1 dir="$RUN_DIR/kafka-$1" deadline=$((SECONDS + ${KRE_KAFKA_START_TIMEOUT:-120}))
  until grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null; do
    if ! running "$name"; then echo "[kafka] $name died; last lines:" >&2; tail -30 "$dir/stdout.log" "$dir/server.log" >&2; exit 1; fi
    if [ $SECONDS -gt $deadline ]; then echo "[kafka] $name not ready in time" >&2; tail -30 "$dir/server.log" >&2; exit 1; fi
    sleep 0.5
  done
}

stop_node() {
  local name=$1 pidf="$RUN_DIR/kafka-$1/pid"
  [ -f "$pidf" ] || return 0
  local pid; pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

# one_setup NAME PORT: a single combined node
one_setup() {
  local name=$1 port=$2
  node_config "$name" 1 "$port" $((port + 1)) "1@127.0.0.1:$((port + 1))" 1
  format_node "$name" "$SINGLE_CLUSTER_ID"
}

cluster_setup() {
  local voters="1@127.0.0.1:19192,2@127.0.0.1:19193,3@127.0.0.1:19194"
  for i in 1 2 3; do
    node_config "node$i" "$i" $((19091 + i)) $((19191 + i)) "$voters" 3
    format_node "node$i" "$MULTI_CLUSTER_ID"
  done
}

cmd=${1:-start}; what=${2:-single}
case "$cmd" in
  fetch) fetch ;;
  start)
    fetch
    case "$what" in
      single) one_setup single 9092; start_node single; wait_ready single; echo "[kafka] single broker ready on 127.0.0.1:9092" ;;
      test) one_setup test 29092; start_node test; wait_ready test; echo "[kafka] test broker ready on 127.0.0.1:29092" ;;
      bench) one_setup bench 39092; start_node bench; wait_ready bench; echo "[kafka] bench broker ready on 127.0.0.1:39092" ;;
      cluster)
        cluster_setup
        for i in 1 2 3; do start_node "node$i"; done
        for i in 1 2 3; do wait_ready "node$i"; done
        echo "[kafka] 3-broker cluster ready on 127.0.0.1:19092,19093,19094" ;;
      *) echo "unknown: $what" >&2; exit 2 ;;
    esac ;;
  stop)
    case "$what" in
      single|test|bench) stop_node "$what" ;;
      cluster) for i in 1 2 3; do stop_node "node$i"; done ;;
      all) stop_node single; stop_node test; stop_node bench; for i in 1 2 3; do stop_node "node$i"; done ;;
    esac ;;
  # stop-node / start-node NAME: for broker-loss tests on the cluster (node1..node3)
  stop-node) stop_node "$what" ;;
  start-node) start_node "$what"; wait_ready "$what" ;;
  status)
    for n in single test bench node1 node2 node3; do running "$n" && echo "$n running (pid $(cat "$RUN_DIR/kafka-$n/pid"))" || echo "$n stopped"; done ;;
  foreground)
    fetch; one_setup single 9092
    trap 'stop_node single' EXIT INT TERM
    start_node single; wait_ready single; echo "[kafka] single broker ready on 127.0.0.1:9092"
    wait "$(cat "$RUN_DIR/kafka-single/pid")" || true ;;
  *) echo "usage: $0 fetch|start|stop|status|stop-node|start-node [single|cluster|all|nodeN]" >&2; exit 2 ;;
esac
