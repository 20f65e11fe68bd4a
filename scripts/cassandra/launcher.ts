/**
 * Starts a real Apache Cassandra 5.0 node on this machine without Docker: the jars come from Maven Central
 * (through scripts/cassandra/pom.xml, cached), the JVM is OpenJDK 17 (Cassandra 5.0 cannot run on JDK 24+,
 * whose SecurityManager removal breaks CassandraDaemon), the configuration is rendered into the node's own
 * data directory. Used by `npm run cassandra:start`, by with-cassandra.ts for the test suite, and by anything that
 * needs a local cluster (several nodes on 127.0.0.1, .2, .3 with the same cluster name and seeds).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'cassandra-driver';
import { freePort } from '../../tools/ports';
import { ROOT } from '../../tools/root';
import { sleep } from '../../tools/sleep';

/** Kept in step with `cassandra.version` in pom.xml. */
export const CASSANDRA_VERSION = '5.0.9';
export const LOCAL_DATA_CENTER = 'datacenter1';

const HERE = __dirname;
const DEFAULT_JAVA = '/usr/lib/jvm/java-17-openjdk-amd64/bin/java';
const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 30_000;

/**
 * The module flags of Cassandra's own conf/jvm17-server.options (5.0): Cassandra reaches into JDK internals
 * (Unsafe, direct buffers, reflection on java.lang/java.io/java.util, JMX over RMI, attach).
 */
export const JVM17_MODULE_FLAGS: readonly string[] = [
  '-Djdk.attach.allowAttachSelf=true',
  '--add-exports',
  'java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports',
  'java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED',
  '--add-exports',
  'java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports',
  'java.rmi/sun.rmi.server=ALL-UNNAMED',
  '--add-exports',
  'java.sql/java.sql=ALL-UNNAMED',
  '--add-exports',
  'java.base/java.lang.ref=ALL-UNNAMED',
  '--add-exports',
  'jdk.unsupported/sun.misc=ALL-UNNAMED',
  '--add-exports',
  'jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports',
  'jdk.attach/sun.tools.attach=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang.module=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.loader=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.reflect=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.math=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.module=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.util.jar=ALL-UNNAMED',
  '--add-opens',
  'jdk.management/com.sun.management.internal=ALL-UNNAMED',
  '--add-opens',
  'java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.io=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens',
  'jdk.compiler/com.sun.tools.javac=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.util=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.nio=ALL-UNNAMED',
  '-Dio.netty.tryReflectionSetAccessible=true',
  '-Dio.netty.allocator.useCacheForAllThreads=true',
  '-Dio.netty.allocator.maxOrder=11',
];

export interface StartCassandraOptions {
  /** Listen, RPC and native address; 127.0.0.1 by default (127.0.0.2, .3 work on Linux loopback as they are). */
  address?: string;
  /** CQL port; a free port when absent. */
  nativePort?: number;
  /** Inter-node port; a free port when absent. The nodes of one cluster must share it (7000 is usual). */
  storagePort?: number;
  /** Kept between runs when given; a fresh directory under .local/cassandra/ (removed on stop) when absent. */
  dataDir?: string;
  /** -Xms and -Xmx; 1G by default. */
  heap?: string;
  clusterName?: string;
  /** Seed addresses (host, or host:port); the node itself by default. */
  seeds?: string[];
  /** Murmur3 token of this node (one token per node); see evenTokens() for a cluster. 0 by default. */
  initialToken?: string;
  /** JMX on this local port (for nodetool); off when absent, so that several nodes never collide. */
  jmxPort?: number;
  /** Cassandra's auto_bootstrap; true by default. A brand-new cluster's nodes join without it (no data to stream). */
  autoBootstrap?: boolean;
  /** -Dcassandra.ring_delay_ms: 100 by default (a single node need not wait for gossip); more for cluster members. */
  ringDelayMs?: number;
  onProgress?: (msg: string) => void;
  /** Overrides the JVM (default: OpenJDK 17, or $CASSANDRA_JAVA). */
  javaPath?: string;
  /** Aborting it while the node starts stops the node and rejects (Ctrl-C during start-up). */
  signal?: AbortSignal;
  /** Milliseconds to wait for CQL before giving up; $CASSANDRA_START_TIMEOUT_MS, else 90 s. */
  startTimeoutMs?: number;
}

export interface CassandraNode {
  /** host:port, as CASSANDRA_CONTACT_POINTS takes it. */
  contactPoint: string;
  address: string;
  port: number;
  storagePort: number;
  dataDir: string;
  logFile: string;
  pid: number;
  localDataCenter: typeof LOCAL_DATA_CENTER;
  /** Milliseconds from `java` spawned to CQL answering. */
  startupMs: number;
  /** SIGTERM, then SIGKILL if the node has not exited within 30 s. Idempotent. */
  stop(): Promise<void>;
}

/** Evenly spread Murmur3 tokens for an n-node cluster (one token per node). */
export function evenTokens(n: number): string[] {
  const min = -(2n ** 63n);
  const span = 2n ** 64n;
  return Array.from({ length: n }, (_, i) => String(min + (span * BigInt(i)) / BigInt(n)));
}

export function cacheDir(): string {
  return process.env.CASSANDRA_CACHE_DIR ?? path.join(homedir(), '.cache', 'digit-service', `cassandra-${CASSANDRA_VERSION}`);
}

/**
 * The directory holding Cassandra's runtime jars, resolved with Maven on first use. Maven copies into a
 * private directory that is renamed into place only when complete, so an interrupted run or two runs at
 * once never leave a half-filled lib/ behind.
 */
export async function resolveClasspath(onProgress: (msg: string) => void = () => {}): Promise<string> {
  const lib = path.join(cacheDir(), 'lib');
  if (existsSync(path.join(lib, `cassandra-all-${CASSANDRA_VERSION}.jar`))) return lib;

  const staging = path.join(cacheDir(), `lib.partial-${process.pid}-${randomBytes(3).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  onProgress(`resolving Cassandra ${CASSANDRA_VERSION} and its dependencies from Maven Central (first run only)…`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const mvn = spawn(
      'mvn',
      ['-B', '-f', path.join(HERE, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${staging}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let downloaded = 0;
    let lastReport = 0;
    const output: string[] = [];
    const onLine = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        output.push(line);
        if (output.length > 40) output.shift();
        if (line.includes('Downloaded from')) downloaded += 1;
      }
      if (Date.now() - lastReport > 2000) {
        lastReport = Date.now();
        onProgress(`maven: ${downloaded} artifacts downloaded, ${Math.round((Date.now() - started) / 1000)} s`);
      }
    };
    mvn.stdout.on('data', onLine);
    mvn.stderr.on('data', onLine);
    mvn.on('error', (err: Error) => reject(new Error(`cannot run mvn (is Maven installed?): ${err.message}`)));
    mvn.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`mvn exited with ${String(code)} resolving cassandra-all ${CASSANDRA_VERSION}:\n${output.join('\n')}`));
    });
  }).catch(async (err: unknown) => {
    await rm(staging, { recursive: true, force: true });
    throw err;
  });

  try {
    await rename(staging, lib);
  } catch (err: unknown) {
    // Another process finished first: its lib/ is as good as ours.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(path.join(lib, `cassandra-all-${CASSANDRA_VERSION}.jar`))) throw err;
  }
  const jars = (await readdir(lib)).filter((f) => f.endsWith('.jar')).length;
  onProgress(`resolved ${jars} jars in ${Math.round((Date.now() - started) / 1000)} s into ${lib}`);
  return lib;
}

function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`cassandra.yaml template: no value for {{${key}}}`);
    return value;
  });
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return `(no ${path.basename(file)})`;
  }
}

async function portAnswers(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: address, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function cqlAnswers(address: string, port: number): Promise<string | null> {
  const client = new Client({
    contactPoints: [`${address}:${port}`],
    localDataCenter: LOCAL_DATA_CENTER,
    socketOptions: { connectTimeout: 2000, readTimeout: 2000 },
    pooling: { warmup: false },
  });
  try {
    const rs = await client.execute('SELECT release_version FROM system.local');
    return String(rs.first()?.get('release_version') ?? '');
  } catch {
    return null;
  } finally {
    await client.shutdown().catch(() => {});
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startCassandra(opts: StartCassandraOptions = {}): Promise<CassandraNode> {
  const progress = opts.onProgress ?? (() => {});
  const address = opts.address ?? '127.0.0.1';
  const port = opts.nativePort ?? (await freePort(address));
  const storagePort = opts.storagePort ?? (await freePort(address));
  const ephemeral = opts.dataDir === undefined;
  const dataDir = path.resolve(
    opts.dataDir ?? path.join(ROOT, '.local', 'cassandra', `tmp-${Date.now()}-${randomBytes(3).toString('hex')}`),
  );
  const seeds = (opts.seeds ?? [address]).map((s) => (s.includes(':') ? s : `${s}:${storagePort}`));
  const java = opts.javaPath ?? process.env.CASSANDRA_JAVA ?? DEFAULT_JAVA;
  if (!existsSync(java)) {
    throw new Error(`Cassandra 5.0 needs OpenJDK 17 at ${java} (apt-get install openjdk-17-jdk-headless, or set CASSANDRA_JAVA)`);
  }

  if (await portAnswers(address, port)) {
    throw new Error(
      `${address}:${port} is already in use (another Cassandra node? then set CASSANDRA_CONTACT_POINTS=${address}:${port} and use it instead)`,
    );
  }

  const lib = await resolveClasspath(progress);
  // Rendered before anything is written, so that a bad option leaves no directory behind.
  const yaml = render(await readFile(path.join(HERE, 'cassandra.yaml'), 'utf8'), {
    cluster_name: (opts.clusterName ?? 'digit-service-local').replace(/'/g, ''),
    initial_token: opts.initialToken ?? '0',
    auto_bootstrap: String(opts.autoBootstrap ?? true),
    seeds: seeds.join(','),
    address,
    storage_port: String(storagePort),
    native_port: String(port),
  });

  const confDir = path.join(dataDir, 'conf');
  const logDir = path.join(dataDir, 'logs');
  await mkdir(confDir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const yamlPath = path.join(confDir, 'cassandra.yaml');
  const logbackPath = path.join(confDir, 'logback.xml');
  await writeFile(yamlPath, yaml);
  await writeFile(logbackPath, await readFile(path.join(HERE, 'logback.xml'), 'utf8'));

  const heap = opts.heap ?? '1G';
  const args = [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    '-Xss256k',
    '-XX:+UseG1GC',
    '-XX:+ParallelRefProcEnabled',
    '-XX:MaxGCPauseMillis=300',
    '-XX:+HeapDumpOnOutOfMemoryError',
    '-XX:+ExitOnOutOfMemoryError',
    `-XX:HeapDumpPath=${logDir}`,
    '-Djava.net.preferIPv4Stack=true',
    ...JVM17_MODULE_FLAGS,
    `-Dcassandra.config=${pathToFileURL(yamlPath).href}`,
    `-Dcassandra.storagedir=${path.join(dataDir, 'storage')}`,
    `-Dcassandra.logdir=${logDir}`,
    '-Dcassandra-foreground=yes',
    // A single node (or a small local cluster) need not wait a minute for gossip to settle.
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    `-Dcassandra.ring_delay_ms=${opts.ringDelayMs ?? 100}`,
    `-Dlogback.configurationFile=${pathToFileURL(logbackPath).href}`,
    `-Djna.tmpdir=${path.join(dataDir, 'tmp')}`,
    `-Djava.io.tmpdir=${path.join(dataDir, 'tmp')}`,
    ...(opts.jmxPort !== undefined ? [`-Dcassandra.jmx.local.port=${opts.jmxPort}`] : []),
    '-cp',
    `${lib}/*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  await mkdir(path.join(dataDir, 'tmp'), { recursive: true });

  const logFile = path.join(logDir, 'system.log');
  const stdoutFile = path.join(logDir, 'stdout.log');
  const out = openSync(stdoutFile, 'a');
  progress(`starting Cassandra ${CASSANDRA_VERSION} on ${address}:${port} (data: ${dataDir})`);
  const started = Date.now();
  const child = spawn(java, args, { stdio: ['ignore', out, out], cwd: dataDir });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${java}`);

  // Never leave an orphaned JVM behind if this process exits without calling stop().
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, STOP_GRACE_MS))) {
          child.kill('SIGKILL');
          await waitForExit(child, 5000);
        }
      }
      process.removeListener('exit', killOnExit);
      if (ephemeral) await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const failure = (why: string): Error =>
    new Error(`${why}\n--- ${logFile} (tail) ---\n${tail(logFile, 30)}\n--- ${stdoutFile} (tail) ---\n${tail(stdoutFile, 15)}`);

  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const timeoutMs = opts.startTimeoutMs ?? (Number(process.env.CASSANDRA_START_TIMEOUT_MS) || START_TIMEOUT_MS);
  let lastReport = Date.now();
  for (;;) {
    if (exited) {
      const err = failure(`Cassandra exited during start-up (code ${String(child.exitCode)}, signal ${String(child.signalCode)})`);
      await stop();
      throw err;
    }
    if (opts.signal?.aborted) {
      await stop();
      throw new Error('Cassandra start-up aborted');
    }
    const elapsed = Date.now() - started;
    if (elapsed > timeoutMs) {
      const err = failure(`Cassandra did not answer CQL on ${address}:${port} within ${timeoutMs / 1000} s`);
      await stop();
      throw err;
    }
    if (await portAnswers(address, port)) {
      const version = await cqlAnswers(address, port);
      if (version !== null) {
        const startupMs = Date.now() - started;
        progress(`Cassandra ${version} answers CQL on ${address}:${port} after ${(startupMs / 1000).toFixed(1)} s`);
        return {
          contactPoint: `${address}:${port}`,
          address,
          port,
          storagePort,
          dataDir,
          logFile,
          pid,
          localDataCenter: LOCAL_DATA_CENTER,
          startupMs,
          stop,
        };
      }
    }
    if (Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      const last = tail(logFile, 1).trim().split('\n').pop() ?? '';
      progress(
        `waiting for CQL on ${address}:${port}… ${Math.round(elapsed / 1000)} s  ${last.replace(/^\w+\s+\[[^\]]*\]\s+\S+\s+\S+\s+/, '').slice(0, 100)}`,
      );
    }
    await sleep(500);
  }
}

export interface StartClusterOptions {
  /** Nodes on 127.0.0.1 … 127.0.0.<nodes>; 3 by default. */
  nodes?: number;
  clusterName?: string;
  heap?: string;
  /** One data directory per node under it (node1, node2, …), kept; fresh ones removed on stop when absent. */
  dataDir?: string;
  onProgress?: (msg: string) => void;
}

export interface CassandraCluster {
  nodes: CassandraNode[];
  /** Every node's host:port, for CASSANDRA_CONTACT_POINTS. */
  contactPoints: string[];
  /** The options each node was started with, to start a stopped node again (same address, token and data). */
  nodeOptions: StartCassandraOptions[];
  stop(): Promise<void>;
}

/**
 * A local multi-node cluster: one JVM per loopback address (127.0.0.1, .2, .3 need no aliases on Linux), the
 * same cluster name, seed, storage and CQL ports, one evenly spaced token each. Nodes start one after the
 * other: Cassandra lets only one node join the ring at a time.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<CassandraCluster> {
  const count = opts.nodes ?? 3;
  const tokens = evenTokens(count);
  const storagePort = await freePort('127.0.0.1');
  const nativePort = await freePort('127.0.0.1');
  const clusterName = opts.clusterName ?? `digit-service-cluster-${randomBytes(3).toString('hex')}`;
  const base = opts.dataDir ?? path.join(ROOT, '.local', 'cassandra', `cluster-${Date.now()}-${randomBytes(3).toString('hex')}`);
  const nodeOptions: StartCassandraOptions[] = tokens.map((token, i) => ({
    address: `127.0.0.${i + 1}`,
    nativePort,
    storagePort,
    dataDir: path.join(base, `node${i + 1}`),
    clusterName,
    seeds: ['127.0.0.1'],
    initialToken: token,
    // A fresh cluster has nothing to stream, and a joining node under load can miss the 100 ms gossip window
    // that bootstrap allows ("Unable to contact any seeds"): join directly, and give gossip a second.
    autoBootstrap: false,
    ringDelayMs: i === 0 ? 100 : 1000,
    ...(opts.heap !== undefined ? { heap: opts.heap } : {}),
    onProgress: (msg: string) => opts.onProgress?.(`[node${i + 1}] ${msg}`),
  }));
  const nodes: CassandraNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    if (opts.dataDir === undefined) await rm(base, { recursive: true, force: true });
  };
  try {
    for (const options of nodeOptions) nodes.push(await startCassandra(options));
  } catch (err: unknown) {
    await stop();
    throw err;
  }
  return { nodes, contactPoints: nodes.map((n) => n.contactPoint), nodeOptions, stop };
}
