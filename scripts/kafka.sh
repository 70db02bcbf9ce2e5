#!/usr/bin/env bash
# Apache Kafka for development and tests: jars from the Maven repository (cached), KRaft mode on 127.0.0.1.
#
#   scripts/kafka.sh fetch              download the broker + tools jars once
#   scripts/kafka.sh start [single|test|cluster]
#       single : one combined broker+controller, PLAINTEXT 127.0.0.1:9092 (controller 9093)
#       test   : the same on 127.0.0.1:29092 (controller 29093), for `make test`, plus the secure
#                listeners of the security tests (see secure_listeners below)
#       secure : make run SECURE=1: one broker reachable only over SASL_SSL on 127.0.0.1:9092
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

CERTS="$RUN_DIR/certs"
# Users of the secure listeners (SCRAM credentials are written at format time, PLAIN ones are
# in the JAAS line): alice may do everything on topics and groups prefixed alice-, bob nothing;
# admin is the broker's own (inter-broker) user.
PLAIN_USERS='user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret"'
SCRAM_USERS=()
for u in admin:admin-secret alice:alice-secret bob:bob-secret; do
  for m in SCRAM-SHA-256 SCRAM-SHA-512; do SCRAM_USERS+=(--add-scram "$m=[name=${u%%:*},password=${u#*:}]"); done
done

# The test (and bench) broker's extra listeners, from its PLAINTEXT port P: SSL P+2, SASL_SSL P+3
# (PLAIN, SCRAM; advertised as broker1.kre.test, which the tests map to 127.0.0.1 with
# kafka_host_map), SASL_PLAINTEXT P+4 (PLAIN, SCRAM, OAUTHBEARER with the broker's unsecured-token
# validator: tests only), EXPIRED P+5 (SSL with an expired certificate), MTLS P+6 (SSL, client
# certificate required; AES-GCM suites only, so the proxy's ChaCha20-first offer must fall back).
# For the test broker P = 29092.
# SASL sessions last 5 s (connections.max.reauth.ms), so re-authentication is exercised.
secure_listeners() {
  local p=$1 k="ssl.keystore.type=PEM"
  cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$((p + 1)),SSL://127.0.0.1:$((p + 2)),SASL_SSL://127.0.0.1:$((p + 3)),SASL_PLAINTEXT://127.0.0.1:$((p + 4)),EXPIRED://127.0.0.1:$((p + 5)),MTLS://127.0.0.1:$((p + 6))
advertised.listeners=PLAINTEXT://127.0.0.1:$p,SSL://localhost:$((p + 2)),SASL_SSL://broker1.kre.test:$((p + 3)),SASL_PLAINTEXT://127.0.0.1:$((p + 4)),EXPIRED://localhost:$((p + 5)),MTLS://localhost:$((p + 6))
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,EXPIRED:SSL,MTLS:SSL
$k
ssl.keystore.location=$CERTS/broker-keystore.pem
listener.name.expired.ssl.keystore.type=PEM
listener.name.expired.ssl.keystore.location=$CERTS/expired-keystore.pem
listener.name.mtls.ssl.keystore.type=PEM
listener.name.mtls.ssl.keystore.location=$CERTS/broker-keystore.pem
listener.name.mtls.ssl.truststore.type=PEM
listener.name.mtls.ssl.truststore.location=$CERTS/ca.pem
listener.name.mtls.ssl.client.auth=required
listener.name.mtls.ssl.cipher.suites=TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required $PLAIN_USERS;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.connections.max.reauth.ms=5000
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required $PLAIN_USERS;
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_plaintext.connections.max.reauth.ms=5000
PROPS
}

# make run SECURE=1: SASL_SSL only (PLAIN, SCRAM) on 9092, the broker's own traffic as admin.
secure_single_listeners() {
  cat <<PROPS
listeners=SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=SASL_SSL://localhost:9092
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.mechanism.inter.broker.protocol=PLAIN
ssl.keystore.type=PEM
ssl.keystore.location=$CERTS/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$CERTS/ca.pem
ssl.endpoint.identification.algorithm=
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" $PLAIN_USERS;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
PROPS
}

# node_config NAME NODE_ID PORT CONTROLLER_PORT VOTERS REPLICATION [plain|secure-test|secure]
node_config() {
  local name=$1 id=$2 port=$3 cport=$4 voters=$5 mode=${7:-plain}
  local dir="$RUN_DIR/kafka-$name"
  mkdir -p "$dir"
  local listeners="listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  # Secure: StandardAuthorizer denies what no ACL allows; the PLAINTEXT / controller principal
  # (ANONYMOUS), the broker's admin and the mTLS client are super users.
  local acl="allow.everyone.if.no.acl.found=true"
  case "$mode" in
    secure-test)
      "$here/certs.sh" "$CERTS" >/dev/null
      listeners="inter.broker.listener.name=PLAINTEXT
$(secure_listeners "$port")"
      acl="allow.everyone.if.no.acl.found=false" ;;
    secure)
      "$here/certs.sh" "$CERTS" >/dev/null
      listeners="$(secure_single_listeners)"
      acl="allow.everyone.if.no.acl.found=false" ;;
  esac
  # The end-to-end tests write records with times years ago (CreateTime round trips): time-based
  # retention would delete them whenever its check happens to run. Other brokers keep the default.
  local retention=""
  [ "$name" = test ] && retention=$'log.retention.ms=-1\n'
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
$listeners
controller.listener.names=CONTROLLER
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
super.users=User:ANONYMOUS;User:admin;User:CN=kre-client
$acl
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
  "$JAVA" -Xms128m "-Xmx${KRE_KAFKA_HEAP:-512m}" -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dlog4j2.configurationFile="$dir/log4j2.yaml" -cp "$(classpath)" "$@"
}

format_node() {
  local name=$1 cluster_id=$2 dir="$RUN_DIR/kafka-$1"
  local scram=()
  grep -q '^sasl.enabled.mechanisms' "$dir/server.properties" && scram=("${SCRAM_USERS[@]}")
  # SCRAM users exist only if written at format time: storage formatted without them goes.
  if [ ${#scram[@]} -gt 0 ] && [ -f "$dir/data/meta.properties" ] && [ ! -f "$dir/data/scram-users" ]; then
    rm -rf "$dir/data"
  fi
  if [ -f "$dir/data/meta.properties" ]; then return; fi
  jvm "$dir" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" "${scram[@]}" >"$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; exit 1; }
  if [ ${#scram[@]} -gt 0 ]; then touch "$dir/data/scram-users"; fi
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

# one_setup NAME PORT [MODE]: a single combined node
one_setup() {
  local name=$1 port=$2
  node_config "$name" 1 "$port" $((port + 1)) "1@127.0.0.1:$((port + 1))" 1 "${3:-plain}"
  format_node "$name" "$SINGLE_CLUSTER_ID"
}

# alice: all operations on topics and groups prefixed alice- (bob has no ACL at all).
acls() {
  local dir="$RUN_DIR/kafka-$1" bootstrap=$2; shift 2
  [ -f "$dir/data/acls.done" ] && return
  for resource in --topic --group; do
    jvm "$dir" org.apache.kafka.tools.AclCommand --bootstrap-server "$bootstrap" "$@" --add \
      --allow-principal User:alice --operation All $resource alice- --resource-pattern-type prefixed >>"$dir/acls.log" 2>&1 \
      || { cat "$dir/acls.log" >&2; exit 1; }
  done
  touch "$dir/data/acls.done"
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
      test)
        one_setup test 29092 secure-test; start_node test; wait_ready test; acls test 127.0.0.1:29092
        echo "[kafka] test broker ready on 127.0.0.1:29092 (secure listeners 29094-29098)" ;;
      secure)
        one_setup single 9092 secure; start_node single; wait_ready single
        printf '%s\n' 'security.protocol=SASL_SSL' 'sasl.mechanism=PLAIN' 'ssl.truststore.type=PEM' \
          "ssl.truststore.location=$CERTS/ca.pem" \
          'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";' \
          > "$RUN_DIR/kafka-single/admin.properties"
        acls single localhost:9092 --command-config "$RUN_DIR/kafka-single/admin.properties"
        echo "[kafka] broker ready on localhost:9092, SASL_SSL only (users alice, bob)" ;;
      bench)
        one_setup bench 39092 secure-test; start_node bench; wait_ready bench
        echo "[kafka] bench broker ready on 127.0.0.1:39092 (secure listeners 39094-39098)" ;;
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
      secure) stop_node single ;;
      cluster) for i in 1 2 3; do stop_node "node$i"; done ;;
      all) stop_node single; stop_node test; stop_node bench; for i in 1 2 3; do stop_node "node$i"; done ;;
    esac ;;
  # stop-node / start-node NAME: for broker-loss tests on the cluster (node1..node3)
  stop-node) stop_node "$what" ;;
  # kill-node NAME: SIGKILL, no shutdown at all (make chaos)
  kill-node) pidf="$RUN_DIR/kafka-$what/pid"; [ -f "$pidf" ] && { kill -9 "$(cat "$pidf")" 2>/dev/null || true; rm -f "$pidf"; } ;;
  start-node) start_node "$what"; wait_ready "$what" ;;
  status)
    for n in single test bench node1 node2 node3; do running "$n" && echo "$n running (pid $(cat "$RUN_DIR/kafka-$n/pid"))" || echo "$n stopped"; done ;;
  foreground)
    fetch; one_setup single 9092
    trap 'stop_node single' EXIT INT TERM
    start_node single; wait_ready single; echo "[kafka] single broker ready on 127.0.0.1:9092"
    wait "$(cat "$RUN_DIR/kafka-single/pid")" || true ;;
  *) echo "usage: $0 fetch|start|stop|status|stop-node|start-node|kill-node [single|cluster|all|nodeN]" >&2; exit 2 ;;
esac
