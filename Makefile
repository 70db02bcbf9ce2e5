# kafka-rest-edge: the two commands are `make run` and `make test`; each installs what is missing.
.PHONY: run test build tools serve stop bench fuzz chaos

## run: broker (127.0.0.1:9092) + Redis + the component under wasmtime serve on 127.0.0.1:8082, in the foreground
##      HOST=spin: the WASI 0.2 artifact under `spin up` instead (key-value store on the same Redis)
##      SECURE=1: the broker only over SASL_SSL (users alice/bob), the proxy passing each caller's identity through
run:
	@SECURE=$(SECURE) HOST=$(HOST) scripts/run.sh

## test: lint, unit tests, then end-to-end tests against a real broker, Redis and wasmtime serve
test:
	@scripts/test.sh

## build: both artifacts (WASI 0.3 and WASI 0.2) and their compositions for wasmtime serve
build:
	@scripts/build.sh

## tools: wasmtime, wasm-tools and wac, built once into ~/.cache/kafka-rest-edge/tools
tools:
	@scripts/install-tools.sh all

## serve PORT=<port> [HOST=spin]: one more host instance against the already running broker and Redis
serve:
	@PORT=$${PORT:-8083} HOST=$(HOST) scripts/serve.sh

## bench: produce benchmarks, native baseline and REST in one run, printed as ratios (~4 minutes)
bench:
	@scripts/bench.sh

## chaos: produce through two hosts while brokers are killed, the controller too, and a leader moves;
##        every acknowledged record looked for by the Kafka jars' consumer; HTTP and deep-structure
##        fuzzing through both artifacts (no trap); fuzz targets (~15 minutes)
chaos:
	@scripts/chaos.sh

## fuzz: every fuzz target for KRE_FUZZ_SECONDS (default 60) each, coverage-guided (cargo-fuzz, stable)
fuzz:
	@scripts/fuzz.sh

## stop: stop every broker, Redis and Schema Registry the scripts started
stop:
	@scripts/kafka.sh stop all; scripts/redis.sh stop; scripts/registry.sh stop; KRE_REGISTRY_PORT=28081 KRE_RUN_DIR=.run/test scripts/registry.sh stop; KRE_REDIS_PORT=26379 KRE_RUN_DIR=.run/test scripts/redis.sh stop; KRE_REDIS_PORT=36379 KRE_RUN_DIR=.run/bench scripts/redis.sh stop; KRE_REDIS_PORT=46379 KRE_RUN_DIR=.run/chaos scripts/redis.sh stop; KRE_REGISTRY_PORT=48081 KRE_REGISTRY_MGMT_PORT=49081 KRE_RUN_DIR=.run/chaos scripts/registry.sh stop
