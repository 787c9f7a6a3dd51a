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

.PHONY: start dev build test test-unit test-faults lint arch typecheck bench createEvents migrate migrate-revert migrate-status clean deps

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

## test: layering check, lint, type check, unit and integration tests
test: deps arch lint typecheck build
	@mkdir -p .test-data
	npx jest --runInBand --json --outputFile=.test-data/jest-results.json
	@node -e 'const r=require("./.test-data/jest-results.json"); console.log("tests: " + r.numPassedTests + " passed, " + r.numFailedTests + " failed" + (r.numPendingTests ? ", " + r.numPendingTests + " skipped" : ""))'

## test-unit: the unit tests only (no servers)
test-unit: deps
	npx jest --testPathPattern '\.spec\.ts$$'

## test-faults: the fault suite (test/faults: kill -9, SIGTERM, PostgreSQL stopped, a 20 s table lock, Redis killed,
## a commit whose answer is lost), each printing its figures; `make test` runs it too
test-faults: deps build
	npx jest --runInBand test/faults

typecheck: deps
	npx tsc --noEmit -p tsconfig.json

arch: deps
	npx depcruise app business foundation migrations --config .dependency-cruiser.js

lint: deps
	npx eslint --no-error-on-unmatched-pattern app business foundation migrations test bench

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
