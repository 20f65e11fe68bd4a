/**
 * How a child process hands one result back to the process that started it: it prints one line
 * `RESULT {json}` on stdout (whatever else it prints is left alone), and the parent picks that line out.
 * Used by the bench's child measurements (bench/stages.ts, bench/inference.ts) and by the bundled handlers
 * run in a /var/task layout (tools/task-root.ts), whose plain-JS child cannot import this module and gets
 * the prefix written into its source instead.
 */
import { spawn } from 'node:child_process';

export const RESULT_PREFIX = 'RESULT ';

/** Prints `value` as the child's result line. */
export function printResult(value: unknown): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(value)}\n`);
}

/** The result line's value in a child's stdout; undefined when it printed none. */
export function readResult<T>(stdout: string): T | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  return line === undefined ? undefined : (JSON.parse(line.slice(RESULT_PREFIX.length)) as T);
}

export interface ChildRun<T> {
  /** The result line's value; undefined when the child printed none. */
  result: T | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** ms from spawning the child to its exit, seen from outside. */
  wallMs: number;
}

export interface ChildOptions {
  cwd: string;
  /** The child's whole environment (pass {...process.env, ...} to inherit). */
  env: NodeJS.ProcessEnv;
  /** Killed with SIGKILL after this long; no limit when absent. */
  timeoutMs?: number;
}

/**
 * Runs `command args` to its end, collecting its output and its result line. A child that fails is not an
 * error here (the caller reads `code` and `stderr`); only a command that cannot be started rejects.
 */
export function runForResult<T>(command: string, args: string[], options: ChildOptions): Promise<ChildRun<T>> {
  const began = performance.now();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    let wallMs = 0;
    child.once('exit', () => {
      wallMs = performance.now() - began;
    });
    // 'close', not 'exit': the last of the output may arrive after the exit is reported.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      let result: T | undefined;
      try {
        result = readResult<T>(stdout);
      } catch {
        result = undefined;
      }
      resolve({ result, code, signal, stdout, stderr, wallMs });
    });
  });
}
