#!/usr/bin/env bash
# Installs cfn-lint and its Serverless Rules (cfn-lint-serverless, awslabs/serverless-rules) from PyPI into a
# virtual environment of the project's own, .cache/cfn-lint/ (git-ignored), for the prod template's check
# (test/cloud/prod-template.test.ts; called by .ci/run). Debian's python3 needs python3-venv for `python3 -m venv`:
# installed with apt when missing and running as root. Pinned versions; a second run with them in place does nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

CFN_LINT_VERSION=1.58.0
CFN_LINT_SERVERLESS_VERSION=0.3.6
venv=.cache/cfn-lint
python=${PYTHON:-python3}

if [ -x "$venv/bin/cfn-lint" ] && [ "$("$venv/bin/cfn-lint" --version 2>/dev/null)" = "cfn-lint $CFN_LINT_VERSION" ] &&
  "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('cfn-lint-serverless') != '$CFN_LINT_SERVERLESS_VERSION')" 2>/dev/null; then
  echo "cfn-lint $CFN_LINT_VERSION and cfn-lint-serverless $CFN_LINT_SERVERLESS_VERSION already in $venv"
  exit 0
fi

if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "$python cannot make a virtual environment: install python3-venv (sudo apt-get install -y python3-venv)" >&2
    exit 1
  fi
fi

rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "cfn-lint==$CFN_LINT_VERSION" "cfn-lint-serverless==$CFN_LINT_SERVERLESS_VERSION"
"$venv/bin/cfn-lint" --version
