/**
 * `npm run stack:up` / `npm run stack:down`: the Compose stack of docker-compose.yml (Cassandra and the service)
 * under `docker compose` or `podman-compose`, whichever engine scripts/containers/engine.ts finds. `up` builds the
 * images that are missing first (or takes CASSANDRA_IMAGE / SERVICE_DEV_IMAGE as they are), starts the stack
 * detached and waits until the API's /health answers 200. `down` stops and removes the containers and keeps the
 * named volumes (the Cassandra tables, the bucket), unless `--volumes`.
 *
 *   npm run stack:up [-- --project NAME]          PORT, S3_PORT, LAMBDA_PORT, CASSANDRA_PORT choose the host ports
 *                                                 (PORT for the API, as `npm start` names it)
 *   npm run stack:down [-- --project NAME] [--volumes]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OPERATOR_KEY_PREFIX } from '../local-keys';
import { detectEngine, engineRun, run } from './engine';
import { ensureCassandraImage, ensureDevImage, REPO_ROOT } from './images';

export const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.yml');
const DEFAULT_PROJECT = 'digit-service';

export interface StackPorts {
  api: number;
  lambda: number;
  s3: number;
  cassandra: number;
}

export interface StackOptions {
  /** Compose project name: containers and volumes are named after it. */
  project?: string;
  ports?: Partial<StackPorts>;
  log?: (msg: string) => void;
  /** How long to wait for /health after `up` (default 10 minutes: Cassandra's first start, the page build). */
  timeoutMs?: number;
}

export interface RunningStack {
  project: string;
  ports: StackPorts;
  apiUrl: string;
  /** The environment compose ran with (images and ports), for `compose` calls of the caller's own. */
  env: NodeJS.ProcessEnv;
  /**
   * The stack's operator key: the one the service created in its own .local (the service-local volume), not the
   * host's .local/operator-key, which belongs to a host `npm start` and which this stack's API refuses.
   */
  operatorKey: string;
}

function portsFrom(env: NodeJS.ProcessEnv, given: Partial<StackPorts> = {}): StackPorts {
  const pick = (value: number | undefined, name: string, fallback: number): number => {
    const port = value ?? Number(env[name] ?? fallback);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} must be a TCP port, got ${env[name]}`);
    return port;
  };
  return {
    api: pick(given.api, 'PORT', 3000),
    lambda: pick(given.lambda, 'LAMBDA_PORT', 3002),
    s3: pick(given.s3, 'S3_PORT', 4569),
    cassandra: pick(given.cassandra, 'CASSANDRA_PORT', 9042),
  };
}

function composeEnv(ports: StackPorts, images: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...images,
    PORT: String(ports.api),
    LAMBDA_PORT: String(ports.lambda),
    S3_PORT: String(ports.s3),
    CASSANDRA_PORT: String(ports.cassandra),
  };
}

/** `<compose> -p project -f docker-compose.yml args…` */
export function compose(
  project: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  opts: { echo?: boolean; allowFailure?: boolean } = {},
) {
  const [command, ...prefix] = detectEngine().compose;
  if (command === undefined) throw new Error('no compose command');
  return run(command, [...prefix, '-p', project, '-f', COMPOSE_FILE, ...args], { ...opts, env, cwd: REPO_ROOT });
}

export async function stackUp(opts: StackOptions = {}): Promise<RunningStack> {
  const log = opts.log ?? ((msg: string) => console.error(`[stack] ${msg}`));
  const project = opts.project ?? process.env.COMPOSE_PROJECT_NAME ?? DEFAULT_PROJECT;
  const ports = portsFrom(process.env, opts.ports);
  const started = Date.now();
  const images = {
    CASSANDRA_IMAGE: await ensureCassandraImage(log),
    SERVICE_DEV_IMAGE: await ensureDevImage(log),
  };
  const env = composeEnv(ports, images);
  log(`${detectEngine().compose.join(' ')} -p ${project} up -d (images: ${Object.values(images).join(', ')})`);
  await compose(project, ['up', '-d'], env, { echo: true });

  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    try {
      const response = await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // Not listening yet: Cassandra starting, or the service compiling.
    }
    if (Date.now() > deadline) {
      const logs = await compose(project, ['logs', '--tail', '40'], env, { allowFailure: true });
      throw new Error(`the stack's API did not answer ${apiUrl}/health in time:\n${logs.stdout}\n${logs.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  log(`up in ${Math.round((Date.now() - started) / 1000)} s: API ${apiUrl}, bucket http://127.0.0.1:${ports.s3}`);
  return { project, ports, apiUrl, env, operatorKey: await stackOperatorKey(project, env) };
}

/** The first line of the service container's .local/operator-key (scripts/local-keys.ts writes it at first start). */
async function stackOperatorKey(project: string, env: NodeJS.ProcessEnv): Promise<string> {
  const read = await compose(project, ['exec', '-T', 'service', 'head', '-n', '1', '.local/operator-key'], env);
  // podman-compose 1.0 writes its own lines (its version, the podman command, the exit code) to stdout around the
  // command's: the key is the line with the key's prefix.
  const key = read.stdout.split('\n').find((line) => line.startsWith(OPERATOR_KEY_PREFIX));
  if (key === undefined) throw new Error(`the stack's service has no .local/operator-key: ${read.stderr.trim()}`);
  return key.trim();
}

export async function stackDown(opts: StackOptions & { volumes?: boolean } = {}): Promise<void> {
  const project = opts.project ?? process.env.COMPOSE_PROJECT_NAME ?? DEFAULT_PROJECT;
  const env = composeEnv(portsFrom(process.env, opts.ports));
  await compose(project, ['down', ...(opts.volumes ? ['--volumes'] : [])], env, { echo: true });
  if (detectEngine().name === 'podman') {
    // podman-compose 1.0 `down` leaves the project's network behind, and with --volumes its named volumes too.
    await engineRun(['network', 'rm', `${project}_default`], { allowFailure: true });
    if (opts.volumes) {
      const listed = await engineRun(['volume', 'ls', '--format', '{{.Name}}', '--filter', `label=io.podman.compose.project=${project}`]);
      for (const volume of listed.stdout.split('\n').filter((v) => v !== '')) await engineRun(['volume', 'rm', '-f', volume]);
    }
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { project: { type: 'string' }, volumes: { type: 'boolean', default: false } },
  });
  const [action] = positionals;
  const project = values.project;
  if (action === 'up') {
    const stack = await stackUp(project ? { project } : {});
    console.log(
      [
        '',
        `Stack "${stack.project}" is up (${detectEngine().name}).`,
        `  API      ${stack.apiUrl}/health, POST ${stack.apiUrl}/predict, GET ${stack.apiUrl}/history`,
        `  page     http://127.0.0.1:${stack.ports.s3}/digit-page/`,
        `  store    Cassandra in a container, 127.0.0.1:${stack.ports.cassandra}, data in the volume ${stack.project}_cassandra-data`,
        `  operator ${stack.operatorKey}`,
        `           this stack's key, kept in the service's volume ${stack.project}_service-local (the host's .local/operator-key is npm start's):`,
        `           curl -H "Authorization: Bearer ${stack.operatorKey}" ${stack.apiUrl}/history`,
        `  logs     ${detectEngine().compose.join(' ')} -p ${stack.project} logs service`,
        `  It runs detached: npm run stack:down${stack.project === DEFAULT_PROJECT ? '' : ` -- --project ${stack.project}`} stops it (the volumes stay).`,
      ].join('\n'),
    );
  } else if (action === 'down') {
    await stackDown({ ...(project ? { project } : {}), volumes: values.volumes });
  } else {
    throw new Error('usage: tsx scripts/containers/stack.ts up|down [--project NAME] [--volumes]');
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
