/**
 * Which container engine the project's container scripts drive, and the few calls they make of it. Docker when
 * its engine answers (`docker info`), podman otherwise (Debian's podman 4.3 on machines without Docker, set up
 * by scripts/containers/setup-host.sh); CONTAINER_ENGINE=docker|podman chooses explicitly. The two CLIs take
 * the same arguments for everything used here (build, image inspect, tag, run, rm, logs, import).
 */
import { spawn, spawnSync } from 'node:child_process';

export type EngineName = 'docker' | 'podman';

export interface Engine {
  readonly name: EngineName;
  /** The Compose command: `docker compose` or `podman-compose`, as argv. */
  readonly compose: readonly string[];
}

let detected: Engine | undefined;

function answers(command: string, args: readonly string[]): boolean {
  const probe = spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 });
  return probe.status === 0;
}

function engineOf(name: EngineName): Engine {
  return { name, compose: name === 'docker' ? ['docker', 'compose'] : ['podman-compose'] };
}

export function detectEngine(): Engine {
  if (detected) return detected;
  const wanted = process.env.CONTAINER_ENGINE;
  if (wanted !== undefined && wanted !== '') {
    if (wanted !== 'docker' && wanted !== 'podman') throw new Error(`CONTAINER_ENGINE must be docker or podman, got ${wanted}`);
    detected = engineOf(wanted);
  } else if (answers('docker', ['info'])) {
    detected = engineOf('docker');
  } else if (answers('podman', ['--version'])) {
    detected = engineOf('podman');
  } else {
    throw new Error(
      'no container engine: neither a Docker engine (docker info) nor podman answers. On Debian without Docker, ' +
        'run `sudo bash scripts/containers/setup-host.sh` (installs podman and writes its settings for these VMs).',
    );
  }
  return detected;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command args` and collects its output; with `echo`, the output also streams to this process's stderr
 * (builds take minutes: the person waiting sees them progress), each line after `prefix` when given (builds that
 * run side by side stay readable). Rejects on a non-zero exit unless `allowFailure`.
 */
export function run(
  command: string,
  args: readonly string[],
  opts: {
    echo?: boolean;
    prefix?: string;
    allowFailure?: boolean;
    input?: NodeJS.ReadableStream;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      cwd: opts.cwd,
      env: opts.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let partial = '';
    const echo = (chunk: Buffer): void => {
      if (!opts.echo) return;
      if (opts.prefix === undefined) {
        process.stderr.write(chunk);
        return;
      }
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) process.stderr.write(`${opts.prefix}${line}\n`);
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      out.push(chunk);
      echo(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err.push(chunk);
      echo(chunk);
    });
    if (opts.input && child.stdin) opts.input.pipe(child.stdin);
    child.on('error', (error: Error) => reject(new Error(`cannot run ${command}: ${error.message}`)));
    child.on('close', (code) => {
      if (opts.echo && opts.prefix !== undefined && partial !== '') process.stderr.write(`${opts.prefix}${partial}\n`);
      const result = { code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (result.code !== 0 && !opts.allowFailure) {
        const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n');
        reject(new Error(`${command} ${args.join(' ')} exited with ${result.code}:\n${tail}`));
      } else {
        resolve(result);
      }
    });
  });
}

/** `<engine> args…` */
export function engineRun(args: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(detectEngine().name, args, opts);
}

export async function imageExists(ref: string): Promise<boolean> {
  const result = await engineRun(['image', 'inspect', '--format', '{{.Id}}', ref], { allowFailure: true });
  return result.code === 0;
}
