/**
 * Builds the project's container images, each tagged with a hash of its inputs so that a second run finds it and
 * builds nothing (`npm run image:build`, the Compose stack and test/containers/ all come through here):
 *
 *   localhost/digit-debian:<suite>-<hash>   a Debian root filesystem made by debootstrap, imported (no registry)
 *   localhost/digit-lambda-node24:<hash>    the stand-in for public.ecr.aws/lambda/nodejs:24 (containers/lambda-node24/)
 *   digit-service:local (+ :<hash>)         the unchanged Dockerfile, FROM the stand-in (or LAMBDA_NODE_IMAGE)
 *   localhost/digit-cassandra:<hash>        Cassandra 5.0 on Debian's OpenJDK 17 (containers/cassandra/)
 *   localhost/digit-dev:<hash>              the project with its dev dependencies, for serverless-offline and the
 *                                           local S3 server in the Compose stack (containers/dev/)
 *
 * Variables (each replaces a stand-in where the real image can be pulled):
 *   LAMBDA_NODE_IMAGE    base of the service image, e.g. public.ecr.aws/lambda/nodejs:24
 *   CASSANDRA_IMAGE      e.g. cassandra:5.0 (the official image takes the same variables)
 *   DEBIAN_TRIXIE_IMAGE, DEBIAN_BOOKWORM_IMAGE   e.g. debian:trixie-slim: skips debootstrap (which needs root)
 *   DEBIAN_MIRROR        debootstrap's mirror (http://deb.debian.org/debian)
 *
 *   tsx scripts/containers/images.ts [lambda-node|service|cassandra|dev|all]...
 *
 * `all` builds side by side what does not depend on each other (the two Debian root filesystems, the Cassandra image
 * beside the stand-in, the service and dev images once the stand-in exists): debootstrap and npm wait on the network
 * while a compile uses the CPU. Each ensure* runs once per process, however many callers ask for it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { CASSANDRA_VERSION, JVM17_MODULE_FLAGS, resolveClasspath } from '../cassandra/launcher';
import { detectEngine, engineRun, imageExists, run } from './engine';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CONTAINERS_DIR = path.join(REPO_ROOT, 'containers');
export const SERVICE_IMAGE = 'digit-service:local';

type Log = (msg: string) => void;
const defaultLog: Log = (msg) => console.error(`[images] ${msg}`);

/** What this process built, with the seconds each took: `all` prints it (CI reads the cost there). */
export const built: Array<{ tag: string; seconds: number }> = [];

const pending = new Map<string, Promise<string>>();
/** One build of `key` per process: a second caller (the service and dev images both need the stand-in) waits for the first. */
function once(key: string, make: () => Promise<string>): Promise<string> {
  let promise = pending.get(key);
  if (!promise) {
    promise = make();
    pending.set(key, promise);
  }
  return promise;
}

/** Files under `root` (a file or a directory), relative to REPO_ROOT, sorted; `skip` filters by relative path. */
async function listFiles(root: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const info = await stat(root);
  if (info.isFile()) return [path.relative(REPO_ROOT, root)];
  const found: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    const rel = path.relative(REPO_ROOT, full);
    if (skip(rel)) continue;
    if (entry.isDirectory()) found.push(...(await listFiles(full, skip)));
    else if (entry.isFile()) found.push(rel);
  }
  return found.sort();
}

/**
 * A short hash over the given files' paths, executable bits and contents, and `extra` strings (build arguments,
 * base image tags): the tag under which an image built from exactly these inputs is found again.
 */
export async function contentHash(
  roots: readonly string[],
  extra: readonly string[] = [],
  skip?: (rel: string) => boolean,
): Promise<string> {
  const hash = createHash('sha256');
  for (const value of extra) hash.update(`extra\0${value}\0`);
  for (const root of roots) {
    for (const rel of await listFiles(path.resolve(REPO_ROOT, root), skip)) {
      const full = path.join(REPO_ROOT, rel);
      const mode = (await stat(full)).mode & 0o111 ? 'x' : '-';
      hash.update(`file\0${rel}\0${mode}\0`);
      hash.update(await readFile(full));
    }
  }
  return hash.digest('hex').slice(0, 12);
}

/**
 * Also tags `repo:<hash>` as `repo:local`, the name docker-compose.yml falls back to when no variable names an
 * image; returns the hashed tag, which is what the callers pass on.
 */
async function alias(tag: string): Promise<string> {
  await engineRun(['tag', tag, tag.replace(/:[^:/]+$/, ':local')]);
  return tag;
}

/**
 * For the service and dev images (their `npm ci` fetch the project's lock, which the host has just installed), podman
 * only: the host's npm cache (npm_config_cache, else ~/.npm; BUILD_NPM_CACHE names another, `off` none) as an
 * overlay volume on /root/.npm in every RUN step. npm inside the build finds the tarballs the host's `npm ci` already
 * fetched (CI runs it first) instead of downloading them again; whatever the step writes there (the Dockerfile's
 * `npm cache clean` included) lands in a throwaway upper layer, so neither the host's cache nor the image changes.
 * Layer caching is unaffected: volumes are not part of a step's cache key. Docker's build has no such volume. Not
 * for the stand-in: its one npm package is not in the host's cache, and its step removes /root/.npm (a mount point).
 */
function npmCacheVolume(): string[] {
  if (detectEngine().name !== 'podman') return [];
  const setting = process.env.BUILD_NPM_CACHE;
  if (setting === 'off') return [];
  const dir = setting || process.env.npm_config_cache || path.join(homedir(), '.npm');
  return existsSync(path.join(dir, '_cacache')) ? ['--volume', `${dir}:/root/.npm:O`] : [];
}

async function build(
  tags: readonly string[],
  context: string,
  containerfile: string,
  buildArgs: Record<string, string>,
  log: Log,
  opts: { hostNpmCache?: boolean } = {},
): Promise<void> {
  // podman writes OCI images by default, which drop HEALTHCHECK; the Docker format keeps it.
  const args = [
    'build',
    ...(detectEngine().name === 'podman' ? ['--format', 'docker'] : []),
    ...(opts.hostNpmCache ? npmCacheVolume() : []),
    '-f',
    containerfile,
  ];
  for (const [key, value] of Object.entries(buildArgs)) args.push('--build-arg', `${key}=${value}`);
  for (const tag of tags) args.push('-t', tag);
  args.push(context);
  const started = Date.now();
  const label = (tags[0] ?? '').replace(/^localhost\//, '').replace(/:.*$/, '');
  log(`building ${tags[0]} (${detectEngine().name} ${args.join(' ')})`);
  await engineRun(args, { echo: true, prefix: `[${label}] ` });
  const seconds = Math.round((Date.now() - started) / 1000);
  built.push({ tag: tags[0] ?? '', seconds });
  log(`built ${tags[0]} in ${seconds} s`);
}

/** The packages each Debian root filesystem starts with (the Containerfiles add the rest with apt). */
const ROOTFS_PACKAGES: Record<'trixie' | 'bookworm', readonly string[]> = {
  // No nodejs: Debian 13's is 20, past its end of life; the stand-in installs Node.js 24 from the npm registry.
  trixie: ['ca-certificates'],
  // Cassandra 5.0 runs on Java 11 or 17; Debian 13 has no OpenJDK 17, Debian 12 does.
  bookworm: ['openjdk-17-jre-headless', 'ca-certificates'],
};

/**
 * A Debian root filesystem as an image: `debootstrap --variant=minbase` from Debian's mirror, packed and
 * imported (no registry involved). DEBIAN_TRIXIE_IMAGE / DEBIAN_BOOKWORM_IMAGE name a pulled image instead.
 */
export function ensureDebianImage(suite: 'trixie' | 'bookworm', log: Log = defaultLog): Promise<string> {
  return once(`debian-${suite}`, () => makeDebianImage(suite, log));
}

async function makeDebianImage(suite: 'trixie' | 'bookworm', log: Log): Promise<string> {
  const override = process.env[`DEBIAN_${suite.toUpperCase()}_IMAGE`];
  if (override) return override;
  const mirror = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
  const packages = ROOTFS_PACKAGES[suite];
  const tag = `localhost/digit-debian:${suite}-${await contentHash([], ['minbase', suite, mirror, ...packages])}`;
  if (await imageExists(tag)) return tag;

  if (process.getuid?.() !== 0) {
    throw new Error(
      `debootstrap needs root to build ${tag}: run as root, or set DEBIAN_${suite.toUpperCase()}_IMAGE to a Debian ${suite} image`,
    );
  }
  const dir = await mkdtemp(path.join(process.env.TMPDIR ?? '/var/tmp', `digit-rootfs-${suite}-`));
  const started = Date.now();
  try {
    log(`debootstrap ${suite} (minbase + ${packages.join(', ')}) into ${dir}: about 2 minutes`);
    await run('debootstrap', ['--variant=minbase', `--include=${packages.join(',')}`, suite, dir, mirror], { echo: false });
    // The downloaded .debs and package lists are build leftovers, not part of a base image.
    await run('bash', ['-c', 'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* "$1"/tmp/*', '-', dir]);
    await run('bash', ['-o', 'pipefail', '-c', `tar --numeric-owner -C "$1" -c . | ${detectEngine().name} import - "$2"`, '-', dir, tag]);
    const seconds = Math.round((Date.now() - started) / 1000);
    built.push({ tag, seconds });
    log(`imported ${tag} in ${seconds} s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return tag;
}

/**
 * CA certificates this machine trusts beyond Debian's bundle (/usr/local/share/ca-certificates/*.crt, e.g. a
 * TLS-inspecting proxy's): the stand-in trusts them too, or npm, Go and the service image's `npm ci` cannot reach
 * their registries through such a proxy. Returns the files' paths; none on an ordinary machine.
 */
async function hostExtraCaFiles(): Promise<string[]> {
  const dir = process.env.HOST_CA_DIR ?? '/usr/local/share/ca-certificates';
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((f) => f.endsWith('.crt')).map((f) => path.join(dir, f));
}

/** The stand-in for the Lambda Node.js 24 base image, or LAMBDA_NODE_IMAGE when set. */
export function ensureLambdaNodeImage(log: Log = defaultLog): Promise<string> {
  return once('lambda-node', () => makeLambdaNodeImage(log));
}

async function makeLambdaNodeImage(log: Log): Promise<string> {
  const override = process.env.LAMBDA_NODE_IMAGE;
  if (override) return override;
  const rootfs = await ensureDebianImage('trixie', log);
  const dir = path.join(CONTAINERS_DIR, 'lambda-node24');
  const caFiles = await hostExtraCaFiles();
  const caContents = await Promise.all(caFiles.map((f) => readFile(f, 'utf8')));
  const tag = `localhost/digit-lambda-node24:${await contentHash([dir], [rootfs, ...caContents])}`;
  if (await imageExists(tag)) return tag;
  const context = await mkdtemp(path.join(tmpdir(), 'digit-lambda-node24-context-'));
  try {
    await cp(dir, context, { recursive: true });
    await mkdir(path.join(context, 'extra-ca'));
    for (const file of caFiles) await cp(file, path.join(context, 'extra-ca', path.basename(file)));
    await build([tag], context, path.join(context, 'Containerfile'), { ROOTFS_IMAGE: rootfs }, log);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return tag;
}

/** What the Dockerfile copies into its build stage, and the files that shape the build itself. */
const SERVICE_INPUTS = [
  'Dockerfile',
  '.dockerignore',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'functions',
  'layers',
  'scripts/bundle.ts',
  'model',
];

/** digit-service:local from the unchanged Dockerfile, FROM the stand-in (built first when missing). */
export function ensureServiceImage(log: Log = defaultLog): Promise<string> {
  return once('service', () => makeServiceImage(log));
}

async function makeServiceImage(log: Log): Promise<string> {
  const base = await ensureLambdaNodeImage(log);
  const hash = await contentHash(SERVICE_INPUTS, [base], (rel) => rel.endsWith('.md') || /^model\/.*\.png$/.test(rel));
  const hashed = `localhost/digit-service:${hash}`;
  if (await imageExists(hashed)) {
    await engineRun(['tag', hashed, SERVICE_IMAGE]);
    return SERVICE_IMAGE;
  }
  await build([hashed, SERVICE_IMAGE], REPO_ROOT, path.join(REPO_ROOT, 'Dockerfile'), { LAMBDA_NODE_IMAGE: base }, log, {
    hostNpmCache: true,
  });
  return SERVICE_IMAGE;
}

/**
 * Cassandra 5.0: the jars the local launcher resolves from Maven Central (scripts/cassandra/pom.xml, cached in
 * ~/.cache/digit-service), the launcher's cassandra.yaml and logback.xml, on Debian 12's OpenJDK 17. The build
 * context is assembled in a temporary directory (containers/cassandra/ plus lib/), as the jars live outside the tree.
 */
export function ensureCassandraImage(log: Log = defaultLog): Promise<string> {
  return once('cassandra', () => makeCassandraImage(log));
}

async function makeCassandraImage(log: Log): Promise<string> {
  const override = process.env.CASSANDRA_IMAGE;
  if (override) return override;
  const rootfs = await ensureDebianImage('bookworm', log);
  const dir = path.join(CONTAINERS_DIR, 'cassandra');
  const launcherFiles = ['scripts/cassandra/cassandra.yaml', 'scripts/cassandra/pom.xml'];
  const jvmOptions = `${JVM17_MODULE_FLAGS.join('\n')}\n`;
  const tag = `localhost/digit-cassandra:${await contentHash([dir, ...launcherFiles], [rootfs, CASSANDRA_VERSION, jvmOptions])}`;
  if (await imageExists(tag)) return alias(tag);

  const lib = await resolveClasspath(log);
  const context = await mkdtemp(path.join(tmpdir(), 'digit-cassandra-context-'));
  try {
    await cp(dir, context, { recursive: true });
    await cp(lib, path.join(context, 'lib'), { recursive: true });
    await cp(path.join(REPO_ROOT, 'scripts/cassandra/cassandra.yaml'), path.join(context, 'cassandra.yaml'));
    await writeFile(path.join(context, 'jvm17.options'), jvmOptions);
    await build([tag], context, path.join(context, 'Containerfile'), { ROOTFS_IMAGE: rootfs }, log);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return alias(tag);
}

/** Everything `npm ci`, `npm run build` and `npm start` read: the dev image's build context (web/ included). */
const DEV_INPUTS = [
  'package.json',
  'package-lock.json',
  'patches',
  'tsconfig.json',
  'tsconfig.build.json',
  'serverless.yml',
  'functions',
  'layers',
  'model',
  'scripts',
  // npm start (scripts/start.ts) runs the service through tools/service.ts, as the tests do.
  'tools',
  'web',
  'resources',
];

/**
 * The project with its dev dependencies, compiled (dist/): serverless-offline and the local S3 server of the
 * Compose stack run in it. FROM the Lambda stand-in (its Node 24, npm and toolchain), so no other base is needed.
 * The context is copied into a temporary directory: the repository's .dockerignore, written for the service image,
 * leaves web/ out.
 */
export function ensureDevImage(log: Log = defaultLog): Promise<string> {
  return once('dev', () => makeDevImage(log));
}

async function makeDevImage(log: Log): Promise<string> {
  const base = await ensureLambdaNodeImage(log);
  const dir = path.join(CONTAINERS_DIR, 'dev');
  const inputs = DEV_INPUTS.filter((p) => existsSync(path.join(REPO_ROOT, p)));
  const skip = (rel: string): boolean => rel.endsWith('.md') || rel.includes('node_modules') || /^web\/dist(\/|$)/.test(rel);
  const tag = `localhost/digit-dev:${await contentHash([dir, ...inputs], [base], skip)}`;
  if (!(await imageExists(tag))) {
    const context = await mkdtemp(path.join(tmpdir(), 'digit-dev-context-'));
    try {
      for (const input of inputs) {
        await cp(path.join(REPO_ROOT, input), path.join(context, input), {
          recursive: true,
          filter: (source) => !skip(path.relative(REPO_ROOT, source)),
        });
      }
      await build([tag], context, path.join(dir, 'Containerfile'), { LAMBDA_NODE_IMAGE: base }, log, { hostNpmCache: true });
    } finally {
      await rm(context, { recursive: true, force: true });
    }
  }
  return alias(tag);
}

const TARGETS = {
  'lambda-node': ensureLambdaNodeImage,
  service: ensureServiceImage,
  cassandra: ensureCassandraImage,
  dev: ensureDevImage,
} as const;

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const names = asked.length === 0 || asked.includes('all') ? (Object.keys(TARGETS) as (keyof typeof TARGETS)[]) : asked;
  for (const name of names) {
    if (!(name in TARGETS)) throw new Error(`unknown image ${name}: one of ${Object.keys(TARGETS).join(', ')}, all`);
  }
  const started = Date.now();
  // Side by side: the ensure* functions wait for what they build on, and build it once.
  const refs = await Promise.all(names.map((name) => TARGETS[name as keyof typeof TARGETS]()));
  names.forEach((name, i) => {
    console.log(`${name}\t${refs[i]}`);
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  const detail = built.map((b) => `${b.tag} ${b.seconds} s`).join(', ');
  console.error(`[images] ${built.length === 0 ? 'all cached' : `built ${detail}`}; ${seconds} s in all`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
