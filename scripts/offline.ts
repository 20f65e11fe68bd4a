/**
 * Starts serverless-offline as a child process on loopback and waits until /health answers. Used by
 * `npm start` and by the integration tests, so both run the service exactly the same way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface OfflineOptions {
  port?: number;
  lambdaPort?: number;
  env?: Record<string, string>;
  /** Where the child's output goes: inherited (npm start) or collected (tests, shown on failure). */
  output?: 'inherit' | 'collect';
  startTimeoutMs?: number;
}

export interface OfflineService {
  url: string;
  port: number;
  child: ChildProcess;
  /** What the child printed, when output is 'collect'. */
  output(): string;
  stop(): Promise<void>;
}

export const ROOT = join(__dirname, '..');

export function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startOffline(options: OfflineOptions = {}): Promise<OfflineService> {
  const port = options.port ?? (await freeTcpPort());
  const lambdaPort = options.lambdaPort ?? (await freeTcpPort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/serverless/bin/serverless.js'), 'offline', 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      HOST: '127.0.0.1',
      PORT: String(port),
      LAMBDA_PORT: String(lambdaPort),
      ...options.env,
    },
    stdio: options.output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  let collected = '';
  child.stdout?.on('data', (chunk: Buffer) => (collected += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (collected += chunk.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));

  const stop = async (): Promise<void> => {
    if (exited) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`serverless-offline exited during start-up:\n${collected}`);
    try {
      const response = await fetch(`${url}/health`);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`serverless-offline did not answer /health within the time limit:\n${collected}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url, port, child, output: () => collected, stop };
}
