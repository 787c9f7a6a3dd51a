# catchall: the two commands a newcomer needs are `make start` and `make test`.
SHELL := /bin/bash
NPM_STAMP := node_modules/.package-lock.json

# Node 24 LTS is the runtime. Where the system Node is older (or missing), npm
# installs a project-local Node 24 from the registry into tools/node24 and every
# recipe below runs with it first on PATH (npm itself included).
NODE24_BIN := $(CURDIR)/tools/node24/node_modules/node/bin
NODE24_STAMP :=
ifneq ($(shell node -e 'process.exit(+process.versions.node.split(".")[0] >= 24 ? 0 : 1)' 2>/dev/null && echo ok),ok)
export PATH := $(NODE24_BIN):$(PATH)
NODE24_STAMP := tools/node24/node_modules/.package-lock.json
$(NODE24_STAMP): tools/node24/package-lock.json
	cd tools/node24 && npm ci --no-audit --no-fund
	@touch $(NODE24_STAMP)
endif

.PHONY: start dev build test test-unit test-faults lint arch typecheck alerts compose-check bench createEvents migrate migrate-revert migrate-status clean deps

# Installs dependencies when package-lock.json changed (npm ci on a fresh clone).
$(NPM_STAMP): package-lock.json $(NODE24_STAMP)
	@node --version
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

deps: $(NPM_STAMP)

build: deps
	npx tsc -p tsconfig.build.json

## start: run the service (compiled; Nest needs decorator metadata, which tsx does not emit)
start: build
	node --enable-source-maps dist/app/main.js

## dev: live reload with nodemon (rebuilds and restarts on change)
dev: deps
	npx nodemon

## test: layering check, lint, type check, alert rules, compose file, unit and integration tests
test: deps arch lint typecheck alerts compose-check build
	@mkdir -p .test-data
	npx jest --runInBand --json --outputFile=.test-data/jest-results.json
	@node -e 'const r=require("./.test-data/jest-results.json"); console.log("tests: " + r.numPassedTests + " passed, " + r.numFailedTests + " failed" + (r.numPendingTests ? ", " + r.numPendingTests + " skipped" : ""))'

## test-unit: the unit tests only (no servers)
test-unit: deps
	npx jest --testPathPatterns '\.spec\.ts$$'

## test-faults: the fault suite (test/faults: kill -9, SIGTERM, PostgreSQL stopped, a 20 s table lock, Redis killed,
## a commit whose answer is lost), each printing its figures; `make test` runs it too
test-faults: deps build
	npx jest --runInBand test/faults

typecheck: deps
	npx tsc --noEmit -p tsconfig.json

## compose-check: docker-compose.yml (every profile) parses and validates; Debian's
## docker-compose does that without a Docker engine. Required where
## REQUIRE_DOCKER_COMPOSE=1 (.ci/run sets it); elsewhere skipped, with a note, when the binary is missing.
compose-check:
	@if command -v docker-compose >/dev/null 2>&1; then \
	  API_KEYS=ci:write:compose-check docker-compose --profile citus --profile redis-cluster config -q && echo "docker-compose.yml: valid"; \
	elif [ "$${REQUIRE_DOCKER_COMPOSE:-}" = 1 ]; then \
	  echo "docker-compose is not installed: it is needed to validate docker-compose.yml (apt-get install docker-compose)"; exit 1; \
	else \
	  echo "docker-compose.yml: NOT validated (no docker-compose binary; apt-get install docker-compose)"; \
	fi

## alerts: the Prometheus config and its alert rules, each rule fired by a scenario in alerts.test.yml.
## promtool comes with Debian's `prometheus` package; .ci/run installs it and sets REQUIRE_PROMTOOL=1.
alerts:
	@if command -v promtool >/dev/null 2>&1; then \
	  promtool check config deploy/prometheus/prometheus.yml && promtool test rules deploy/prometheus/alerts.test.yml; \
	elif [ -n "$(REQUIRE_PROMTOOL)" ]; then \
	  echo "alerts: promtool not found (apt-get install prometheus)"; exit 1; \
	else \
	  echo "alerts: promtool not installed, rules not checked here (CI checks them; apt-get install prometheus)"; \
	fi

arch: deps
	npx depcruise app business foundation migrations --config .dependency-cruiser.js

## lint: eslint, then knip (unused files, exports and dependencies; knip.json)
lint: deps
	npx eslint --no-error-on-unmatched-pattern app business foundation migrations test bench
	npx knip

## bench: the benchmarks recorded in docs/benchmarks.md (several minutes; run on a quiet machine)
bench: build
	npx tsx bench/put-bench.ts --no-build
	npx tsx bench/cache-bench.ts --no-build
	npx tsx bench/tracing-bench.ts --no-build

## migrate / migrate-revert / migrate-status: TypeORM migrations against DATABASE_URL (or the embedded PostgreSQL)
migrate: deps
	npx tsx app/cmd/migrate.ts up

migrate-revert: deps
	npx tsx app/cmd/migrate.ts down

migrate-status: deps
	npx tsx app/cmd/migrate.ts status

createEvents: deps
	npx tsx app/cmd/create-events.ts $(ARGS)

clean:
	rm -rf dist .test-data
