# catchall: the two commands a newcomer needs are `make start` and `make test`.
SHELL := /bin/bash
NPM_STAMP := node_modules/.package-lock.json

.PHONY: start dev build test test-unit lint arch typecheck bench createEvents migrate migrate-revert migrate-status clean deps

# Installs dependencies when package-lock.json changed (npm ci on a fresh clone).
$(NPM_STAMP): package-lock.json
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
