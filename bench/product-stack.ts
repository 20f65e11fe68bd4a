/**
 * The stack as `npm start` runs it, for the bench: the local S3 server and, under it, serverless-offline with
 * every upload kept in the uploads bucket, in a process of its own as `npm start`'s is (so that the bench can
 * read the S3 server's CPU apart from the load generator's). Its bucket data lives in a temporary directory,
 * never in the developer's .local/. Prints `RESULT {url, servicePid, s3Pid}` once /health answers, and stops
 * everything on SIGTERM or SIGINT. Started by bench/run.ts (startProductStack); the service's environment
 * comes in BENCH_STACK_ENV (JSON).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printResult } from '../tools/child-result';
import { startWithBuckets } from '../tools/service';

async function main(): Promise<void> {
  const env = JSON.parse(process.env.BENCH_STACK_ENV ?? '{}') as Record<string, string>;
  const directory = mkdtempSync(join(tmpdir(), 'bench-s3-'));
  // Its output inherited, as `npm start` prints it: collected in memory, it would cost this process CPU that
  // `npm start` does not pay, and it would count as the S3 server's.
  const stack = await startWithBuckets({ s3Directory: directory, keysDirectory: directory, env, output: 'inherit' });
  const stop = (): void => {
    void stack
      .stop()
      .finally(() => rmSync(directory, { recursive: true, force: true }))
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // The operator key, for GET /history: the bench reads everyone's predictions as the operator.
  printResult({ url: stack.service.url, servicePid: stack.service.child.pid, s3Pid: process.pid, operatorKey: stack.service.operatorKey });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/product-stack.ts: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
