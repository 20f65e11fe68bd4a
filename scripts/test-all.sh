#!/usr/bin/env bash
# The whole test suite (`npm test`): compiles the handlers, then runs the unit, contract, integration and
# browser tests in one run of Node's test runner. Integration tests need a real Cassandra: when
# CASSANDRA_CONTACT_POINTS is not set, with-cassandra.ts starts a node on a free port and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent build
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts)
exec node_modules/.bin/tsx scripts/cassandra/with-cassandra.ts -- \
  node --import tsx --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
