#!/usr/bin/env bash
# Native TensorFlow for Node without Google storage: builds @tensorflow/tfjs-node's addon against the
# libtensorflow that TensorFlow's CPU wheel on PyPI carries.
#
# Why: tfjs-node's own installer downloads libtensorflow 2.9.1 and a prebuilt addon from Google storage; on a
# machine that reaches only the package registries that fails and npm drops the optional dependency. The
# `tensorflow-cpu` wheel ships libtensorflow_cc.so.2 (which exports the C and eager C APIs the addon calls),
# libtensorflow_framework.so.2 and the C API headers, so the addon can be compiled here with node-gyp.
#
# Idempotent and re-runnable: does nothing when the addon already loads on the tensorflow backend; the wheel
# is cached under ~/.cache/native-tf, so after a `npm ci` (which drops the package again) a re-run takes about
# a minute. Nothing else in the project depends on this: without it the service uses the wasm backend.
#
# Usage: npm run setup:native-tf [-- --force]      (TF_WHEEL_VERSION=2.12.0 overrides the wheel's version)
set -euo pipefail

TFJS_NODE_VERSION=4.22.0
# The oldest tensorflow-cpu on PyPI with a CPython 3.11 wheel; its C API is a superset of the 2.9.1 one that
# tfjs-node 4.22 was built against (the C API keeps backward compatibility within 2.x).
TF_WHEEL_VERSION="${TF_WHEEL_VERSION:-2.12.0}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${NATIVE_TF_CACHE:-$HOME/.cache/native-tf}"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
log() { printf '[native-tf] %s\n' "$*" >&2; }

probe() {
  # Loads the package the way the service does and checks the backend it registers.
  (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL=2 node -e "
    const tf = require('@tensorflow/tfjs-node');
    if (tf.getBackend() !== 'tensorflow') { console.error('backend is ' + tf.getBackend()); process.exit(1); }
    const s = tf.tensor([1, 2, 3]).square().sum().dataSync()[0];
    if (s !== 14) process.exit(1);
    console.error('tfjs-node ' + tf.version['tfjs-node'] + ', backend ' + tf.getBackend() + ', TensorFlow $TF_WHEEL_VERSION');
  " 2>&1)
}

if [[ $FORCE -eq 0 ]] && [[ -f "$PKG/package.json" ]] && out="$(probe)"; then
  log "already working: $out"
  exit 0
fi

# 1. The wheel, downloaded once (pip checks its hash against PyPI's).
WHEEL_DIR="$CACHE/wheels"
mkdir -p "$WHEEL_DIR"
WHEEL="$(ls "$WHEEL_DIR"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [[ -z "$WHEEL" ]]; then
  log "downloading tensorflow-cpu==$TF_WHEEL_VERSION from PyPI (about 230 MB, once)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 -d "$WHEEL_DIR" "tensorflow-cpu==$TF_WHEEL_VERSION"
  WHEEL="$(ls "$WHEEL_DIR"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*.whl | head -n1)"
fi

# 2. The shared libraries and C API headers, unpacked once per wheel version.
EXTRACT="$CACHE/tensorflow-$TF_WHEEL_VERSION"
if [[ ! -f "$EXTRACT/.complete" ]]; then
  log "extracting libtensorflow from $(basename "$WHEEL")"
  rm -rf "$EXTRACT" && mkdir -p "$EXTRACT"
  python3 - "$WHEEL" "$EXTRACT" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
wanted_libs = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
# c_api.h pulls in tensorflow/core/platform/ctstring.h and tensorflow/tsl/c/tsl_status.h, which reach into
# tensorflow/tsl/ (3 MB of headers); nothing else of the 400 MB include tree is needed.
wanted_dirs = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/',
               'tensorflow/include/tensorflow/tsl/')
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n in wanted_libs or (n.startswith(wanted_dirs) and not n.endswith('/'))]
    missing = wanted_libs - set(names)
    if missing:
        sys.exit(f'{wheel} lacks {sorted(missing)}')
    for n in names:
        z.extract(n, dest)
PY
  touch "$EXTRACT/.complete"
fi

# 3. The npm package itself, without its install script (which would try Google storage and fail).
#    It is already in optionalDependencies and package-lock.json, so this changes neither.
if [[ ! -f "$PKG/package.json" ]] || [[ "$(node -p "require('$PKG/package.json').version")" != "$TFJS_NODE_VERSION" ]] \
   || ! (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL=2 node -e "require.resolve('@mapbox/node-pre-gyp'); require.resolve('google-protobuf')" 2>/dev/null); then
  log "installing @tensorflow/tfjs-node@$TFJS_NODE_VERSION without its download script"
  (cd "$ROOT" && npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS_NODE_VERSION" >&2)
  # That install may lay other packages out again from the registry (seen: the bucket server's), and
  # --ignore-scripts skips the postinstall that patches them: apply the project's patches once more.
  (cd "$ROOT" && npx --no-install patch-package >&2)
fi
# tfjs-node's own patch (Node 24 has no util.isNullOrUndefined) lives in scripts/native-tf/, not patches/: after
# `npm ci` the package is absent, and patch-package fails on CI for a patch whose package is missing
# (docs/patches.md). Re-applying an applied patch is a no-op.
(cd "$ROOT" && npx --no-install patch-package --patch-dir scripts/native-tf >&2)

# 4. deps/ laid out as binding.gyp and scripts/install.js expect.
log "staging libtensorflow into $PKG/deps"
rm -rf "$PKG/deps" && mkdir -p "$PKG/deps/lib" "$PKG/deps/include"
cp "$EXTRACT/tensorflow/libtensorflow_cc.so.2" "$EXTRACT/tensorflow/libtensorflow_framework.so.2" "$PKG/deps/lib/"
cp -r "$EXTRACT/tensorflow/include/tensorflow" "$PKG/deps/include/"
(
  cd "$PKG/deps/lib"
  # -ltensorflow / -ltensorflow_framework at link time; at run time the addon asks for the libraries' SONAMEs
  # (libtensorflow_cc.so.2, libtensorflow_framework.so.2), found through the addon's rpath $ORIGIN/../../deps/lib.
  ln -sf libtensorflow_cc.so.2 libtensorflow.so
  ln -sf libtensorflow_cc.so.2 libtensorflow.so.2
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
  # scripts/install.js treats deps/lib/libtensorflow.so.2.9.1 as "library present": with it, an `npm rebuild`
  # recompiles against these libraries instead of wiping deps/ and downloading again.
  ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1
)

# 5. Compile the addon where @mapbox/node-pre-gyp's find() looks for it (lib/napi-v<N>/tfjs_binding.node).
NAPI="$(node -e "
  const b = require('$PKG/package.json').binary;
  const v = Math.max(...b.napi_versions.filter((n) => n <= Number(process.versions.napi)));
  process.stdout.write(String(v));
")"
NODE_GYP="$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$NODE_GYP" ]] || NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
# Node's headers: beside the node binary (/usr/include/node for /usr/bin/node), else let node-gyp fetch them.
NODE_PREFIX="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
NODEDIR_ARG=()
[[ -f "$NODE_PREFIX/include/node/node_api.h" ]] && NODEDIR_ARG=("--nodedir=$NODE_PREFIX")
log "compiling the addon (N-API $NAPI) with node-gyp; about a minute"
(
  cd "$PKG"
  node "$NODE_GYP" rebuild "${NODEDIR_ARG[@]}" --jobs=2 \
    --module_name=tfjs_binding --module_path="$PKG/lib/napi-v$NAPI" --napi_build_version="$NAPI" >&2
)

if out="$(probe)"; then
  log "done: $out"
else
  log "the addon was built but does not load:"
  printf '%s\n' "$out" >&2
  exit 1
fi
