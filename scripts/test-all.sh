#!/usr/bin/env bash
# The whole test suite (`npm test`): compiles the handlers, then runs the unit, contract, integration and
# browser tests in one run of Node's test runner. Integration tests need a real Cassandra: when
# CASSANDRA_CONTACT_POINTS is not set, with-cassandra.ts starts a node on a free port and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests (test/e2e/) drive Debian's Chromium; no test tool may download a browser of its own here.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "the browser tests need /usr/bin/chromium: run 'sudo apt-get install -y chromium' first" >&2
    exit 1
  fi
fi

npm run --silent build
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts test/security/*.test.ts)
exec node_modules/.bin/tsx scripts/cassandra/with-cassandra.ts -- \
  node --import tsx --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
