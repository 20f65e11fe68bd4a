/**
 * The production bundle (`npm run build:bundle`): what the Lambda container image's /var/task holds, laid out in
 * dist/bundle/ exactly as it is copied there.
 *
 *   functions/predict.js, history.js, health.js,  one esbuild bundle per handler (CommonJS, Node 24)
 *     openapi.js
 *   functions/tfjs-backend-wasm*.wasm             the wasm backend's binaries, found beside the code
 *   model/                                        model.json, the weight files, metrics.json, refusal.json;
 *   model/serving.json                            which model serves and which reads in shadow (npm run model:promote)
 *   model/reader/                                 the learned reader's model.json and weights
 *   package.json, package-lock.json               only the externals, at the versions of the project's lock
 *
 * One bundle per handler, so that each function's cold start parses only its own code and runs only its own
 * warm-up (history does not load the model). Native modules cannot be bundled and stay external: sharp,
 * better-sqlite3 and @tensorflow/tfjs-node; modules required only on paths the service never takes (kerberos,
 * node-fetch) are external too and never installed.
 * The package-lock is the project's own, cut down to what the externals reach, so that
 * `npm ci --omit=dev` in the image installs exactly the versions that the tests ran with.
 */
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';

export const ROOT = resolve(__dirname, '..');
export const BUNDLE_DIR = join(ROOT, 'dist', 'bundle');
export const HANDLERS = ['predict', 'history', 'prediction', 'label', 'stats', 'health', 'openapi'] as const;

/** Installed next to the bundle from the lock (native code, or too tied to its own files to bundle). */
export const INSTALLED_EXTERNALS = ['sharp', 'better-sqlite3', '@tensorflow/tfjs-node'] as const;

/**
 * Required only on code paths the service never takes, so left external and never installed: cassandra-driver
 * loads kerberos only for DSE GSSAPI authentication, and tfjs-core loads node-fetch only when there is no global
 * fetch (Node 24 has one).
 */
const ABSENT_EXTERNALS = ['kerberos', 'node-fetch'];

/**
 * aws-sigv4-auth-cassandra-plugin requires the whole of aws-sdk v2 (10 MB of the 13 MB a handler weighed) for
 * one thing: `AWS.CredentialProviderChain`, the default credential chain (in Lambda, the role's credentials
 * from the environment). `aws-sdk/global` is the SDK's own entry point for exactly that, its core and the
 * Node credential providers without the service clients.
 */
const awsSdkCoreOnly: Plugin = {
  name: 'aws-sdk-v2-core-only',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^aws-sdk$/ }, (args) => ({
      path: require.resolve('aws-sdk/global', { paths: [args.resolveDir] }),
    }));
  },
};

/**
 * `@tensorflow/tfjs` pulls in three packages beside core, layers and the cpu backend that serving a layers
 * model in Node never uses: the WebGL backend (no GPU in Lambda; in Node it never initialises), the converter
 * (graph models) and tfjs-data. They become empty modules, which takes 0.8 MB of code out of every handler's
 * cold start; what tfjs itself adds (chained ops, gradients) stays. The bundle test proves predictions right.
 */
const UNUSED_TFJS = /^@tensorflow\/tfjs-(backend-webgl|converter|data)$/;
const tfjsServingOnly: Plugin = {
  name: 'tfjs-serving-only',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: UNUSED_TFJS }, (args) => ({ path: args.path, namespace: 'unused-tfjs' }));
    pluginBuild.onLoad({ filter: /.*/, namespace: 'unused-tfjs' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

function readLock(): Lockfile {
  return JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
}

/** Where npm would find `name` for the package installed at `from` (a lock key): nested first, then upwards. */
function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/**
 * The lock keys (node_modules/... paths) that the externals need at run time: themselves and every
 * dependency, optional one and required peer, transitively. Optional packages of other platforms (sharp's
 * @img/sharp-darwin-arm64...) are kept: `npm ci` in the image skips those that do not fit linux x64.
 */
export function productionClosure(lock: Lockfile = readLock(), roots: readonly string[] = INSTALLED_EXTERNALS): string[] {
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const name of roots) {
    const key = `node_modules/${name}`;
    if (!lock.packages[key]) throw new Error(`${name} is not in package-lock.json; run npm install`);
    queue.push(key);
  }
  while (queue.length > 0) {
    const key = queue.pop() as string;
    if (seen.has(key)) continue;
    seen.add(key);
    const entry = lock.packages[key] as LockEntry;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((p) => !entry.peerDependenciesMeta?.[p]?.optional);
    for (const dep of [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...peers]) {
      const found = resolveInLock(lock.packages, key, dep);
      if (found) queue.push(found);
      else if (!entry.optionalDependencies?.[dep]) throw new Error(`${key} needs ${dep}, which package-lock.json does not hold`);
    }
  }
  return [...seen].sort();
}

/** package.json and package-lock.json for the bundle directory: the externals only, at their locked versions. */
export function productionManifests(lock: Lockfile = readLock()): { packageJson: object; packageLock: Lockfile } {
  const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    engines?: object;
    optionalDependencies?: Record<string, string>;
    allowScripts?: Record<string, boolean>;
  };
  const dependencies: Record<string, string> = {};
  const optionalDependencies: Record<string, string> = {};
  for (const name of INSTALLED_EXTERNALS) {
    const version = lock.packages[`node_modules/${name}`]?.version as string;
    // tfjs-node stays optional, as in the project: the service falls back to wasm where it cannot install.
    if (rootPackage.optionalDependencies?.[name]) optionalDependencies[name] = version;
    else dependencies[name] = version;
  }
  const name = `${rootPackage.name}-lambda`;
  const packageJson = {
    name,
    version: rootPackage.version,
    private: true,
    description: 'Generated by scripts/bundle.ts: the run-time packages of the Lambda bundle, at the versions of the project lock.',
    ...(rootPackage.engines ? { engines: rootPackage.engines } : {}),
    dependencies,
    optionalDependencies,
    // npm 11 lists every install script allowScripts does not cover (better-sqlite3's, tfjs-node's): the project's
    // decisions hold here too.
    ...(rootPackage.allowScripts ? { allowScripts: rootPackage.allowScripts } : {}),
  };
  const packages: Record<string, LockEntry> = {
    '': { name, version: rootPackage.version, dependencies, optionalDependencies },
  };
  for (const key of productionClosure(lock)) {
    const { dev: _dev, devOptional, ...entry } = lock.packages[key] as LockEntry;
    // Nothing here is a dev dependency any more; "devOptional" (optional in one tree, dev in another) becomes optional.
    packages[key] = devOptional ? { ...entry, optional: true } : entry;
  }
  return { packageJson, packageLock: { name, version: rootPackage.version, lockfileVersion: 3, requires: true, packages } };
}

/**
 * Model files the image ships: model.json, its weights, metrics.json and refusal.json (the temperature and the
 * refusal head, layers/classifier/refusal.ts); not the training code beside them.
 */
export function modelFiles(modelDir: string): string[] {
  if (!existsSync(join(modelDir, 'model.json'))) {
    throw new Error(`${modelDir} holds no model.json: train the model (npm run model:train) or set MODEL_DIR`);
  }
  const manifest = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { weightsManifest?: Array<{ paths: string[] }> };
  const weights = (manifest.weightsManifest ?? []).flatMap((group) => group.paths);
  const extra = readdirSync(modelDir).filter((f) => f === 'metrics.json' || f === 'refusal.json' || f.endsWith('.bin'));
  return [...new Set(['model.json', ...weights, ...extra])].filter((f) => existsSync(join(modelDir, f)));
}

export interface BundleResult {
  dir: string;
  /** Bytes of each handler's bundle. */
  handlerBytes: Record<string, number>;
  /** Bytes of the whole directory (bundles, maps, wasm, model, manifests). */
  totalBytes: number;
  modelDir: string;
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  return total;
}

export async function bundle(options: { outDir?: string; modelDir?: string; quiet?: boolean } = {}): Promise<BundleResult> {
  const outDir = options.outDir ?? BUNDLE_DIR;
  const modelDir = resolve(options.modelDir ?? process.env.MODEL_DIR ?? join(ROOT, 'model'));
  const models = modelFiles(modelDir);
  rmSync(outDir, { recursive: true, force: true });
  const functionsDir = join(outDir, 'functions');

  const result = await build({
    entryPoints: Object.fromEntries(HANDLERS.map((name) => [name, join(ROOT, 'functions', `${name}.ts`)])),
    outdir: functionsDir,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    // Names kept: error classes are told apart by name in logs, and tfjs registers kernels by class name.
    keepNames: true,
    // Maps without the sources: stack traces point at the TypeScript lines (NODE_OPTIONS=--enable-source-maps)
    // without shipping the sources of every dependency.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    external: [...INSTALLED_EXTERNALS, ...ABSENT_EXTERNALS],
    plugins: [awsSdkCoreOnly, tfjsServingOnly],
    metafile: true,
    logLevel: options.quiet ? 'error' : 'warning',
    logOverride: {
      // tfjs and the AWS SDKs probe for optional modules with require() in try blocks; expected.
      'require-resolve-not-external': 'silent',
    },
  });

  // The wasm backend's binaries, beside the code that loads them (layers/classifier/classifier.ts looks there first).
  const wasmDist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const file of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDist, file), join(functionsDir, file));

  mkdirSync(join(outDir, 'model'), { recursive: true });
  for (const file of models) copyFileSync(join(modelDir, file), join(outDir, 'model', file));
  // Which model serves, as promoted: the shipped choice travels with the models it names.
  const servingFile = join(ROOT, 'model', 'serving.json');
  if (existsSync(servingFile)) copyFileSync(servingFile, join(outDir, 'model', 'serving.json'));
  // The learned reader, when shipped (model/reader/): it serves or reads in shadow as model/serving.json says.
  const readerDir = join(modelDir, 'reader');
  if (existsSync(join(readerDir, 'model.json'))) {
    mkdirSync(join(outDir, 'model', 'reader'), { recursive: true });
    for (const file of modelFiles(readerDir)) copyFileSync(join(readerDir, file), join(outDir, 'model', 'reader', file));
  }

  const { packageJson, packageLock } = productionManifests();
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  writeFileSync(join(outDir, 'package-lock.json'), `${JSON.stringify(packageLock, null, 2)}\n`);
  writeFileSync(join(outDir, 'meta.json'), JSON.stringify(result.metafile satisfies Metafile));

  const handlerBytes = Object.fromEntries(HANDLERS.map((name) => [name, statSync(join(functionsDir, `${name}.js`)).size]));
  return { dir: outDir, handlerBytes, totalBytes: directoryBytes(outDir), modelDir };
}

/** Hard links where the file system allows (fast, no extra space), else copies; symbolic links as they are. */
function linkTree(from: string, to: string, skip: (name: string) => boolean = () => false): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (skip(entry.name)) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) linkTree(source, target);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
      }
    }
  }
}

/**
 * Lays out `taskRoot` as the image's /var/task: the bundle directory's files, and node_modules holding only
 * the production closure of the externals, taken from this project's node_modules (what `npm ci --omit=dev`
 * installs in the image, without a network install per test run). Packages of the closure that are not
 * installed here are left out: other platforms' optional binaries, and @tensorflow/tfjs-node where it could
 * not be built. Returns the lock keys laid out.
 */
export function layOutTaskRoot(taskRoot: string, bundleDir: string = BUNDLE_DIR): string[] {
  if (!existsSync(join(bundleDir, 'package-lock.json'))) throw new Error(`${bundleDir} holds no bundle: npm run build:bundle`);
  linkTree(bundleDir, taskRoot, (name) => name === 'meta.json');
  const lock = JSON.parse(readFileSync(join(bundleDir, 'package-lock.json'), 'utf8')) as Lockfile;
  const laidOut: string[] = [];
  for (const key of Object.keys(lock.packages)) {
    if (key === '' || !existsSync(join(ROOT, key, 'package.json'))) continue;
    // Nested node_modules are keys of their own; each package directory is linked without them.
    linkTree(join(ROOT, key), join(taskRoot, key), (name) => name === 'node_modules');
    laidOut.push(key);
  }
  return laidOut;
}

if (require.main === module) {
  bundle().then(
    (done) => {
      const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
      for (const [name, bytes] of Object.entries(done.handlerBytes)) console.log(`functions/${name}.js  ${mb(bytes)}`);
      console.log(`model from ${done.modelDir}`);
      console.log(`${done.dir}: ${mb(done.totalBytes)} in all (production node_modules not included: npm ci --omit=dev there)`);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
