# catchall: the two commands a newcomer needs are `make start` and `make test`.
SHELL := /bin/bash
NPM_STAMP := node_modules/.package-lock.json

.PHONY: start dev build test test-unit test-int lint arch typecheck bench createEvents clean deps

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
	npx jest --runInBand

test-unit: deps
	npx jest --selectProjects unit 2>/dev/null || npx jest --testPathPatterns '\.spec\.ts$$'

typecheck: deps
	npx tsc --noEmit -p tsconfig.json

arch: deps
	npx depcruise app business foundation migrations --config .dependency-cruiser.js

lint: deps
	npx eslint --no-error-on-unmatched-pattern app business foundation migrations test bench

bench: build
	npx tsx bench/run.ts

createEvents: deps
	npx tsx app/cmd/create-events.ts $(ARGS)

clean:
	rm -rf dist .test-data
