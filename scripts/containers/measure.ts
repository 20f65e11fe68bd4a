/**
 * The service image's figures for the README's "Containers" section: size (total, largest layers, largest
 * directories of /var/task), cold start (the emulator's Init Duration) and warm invocations of predict, peak memory
 * of the function's container (its cgroup's high-water mark), and a run as a non-root user on a read-only root
 * filesystem with a writable /tmp, as Lambda runs functions. Prints Markdown.
 *
 *   npx tsx scripts/containers/measure.ts [--warm 20]
 */
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { plainDigit } from '../../model/training/digit-images';
import { httpEvent } from '../../tools/events';
import { loadOrCreateLocalKeys } from '../local-keys';
import { engineRun } from './engine';
import { ensureServiceImage } from './images';
import { parseReports, startFunctionContainer } from './lambda-container';

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The cgroup's peak memory (v2 memory.peak, v1 memory.max_usage_in_bytes), read inside the container. */
async function peakMemory(name: string): Promise<number | undefined> {
  const result = await engineRun(
    [
      'exec',
      name,
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory.peak 2>/dev/null || cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null',
    ],
    { allowFailure: true },
  );
  const value = Number(result.stdout.trim());
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { warm: { type: 'string', default: '20' } } });
  const warm = Number(values.warm);
  const image = await ensureServiceImage();
  const lines: string[] = [];
  const out = (line = ''): void => {
    lines.push(line);
  };
  const load = (): string =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  out(`Measured ${new Date().toISOString()}, load average ${load()} at the start.`);
  out();

  const inspect = await engineRun(['image', 'inspect', '--format', '{{.Size}}', image]);
  out(`Image ${image}: ${mb(Number(inspect.stdout.trim()))} in total.`);
  out();
  const history = await engineRun(['history', '--no-trunc', '--format', '{{.Size}}\t{{.CreatedBy}}', image]);
  out('Largest layers:');
  out();
  for (const row of history.stdout
    .split('\n')
    .filter((r) => r.trim() !== '')
    .slice(0, 40)) {
    const [size, ...rest] = row.split('\t');
    const by = rest.join(' ').replace(/\s+/g, ' ').slice(0, 110);
    if (size && !/^0\s*B$/.test(size.trim())) out(`- ${size.trim()}: \`${by}\``);
  }
  out();
  const du = await engineRun([
    'run',
    '--rm',
    '--entrypoint',
    'sh',
    image,
    '-c',
    // One du per path: given several at once, du counts a directory inside an earlier one as nothing.
    'for d in /usr /usr/lib/x86_64-linux-gnu /usr/libexec /usr/include /usr/lib/node_modules/npm /var/runtime /usr/local/bin/aws-lambda-rie /var/task /var/task/model /var/task/functions /var/task/node_modules/* /var/task/node_modules/@*/*; do [ -e "$d" ] && du -sm "$d"; done | sort -rn | head -16',
  ]);
  out('Largest directories (MB):');
  out();
  for (const row of du.stdout.split('\n').filter((r) => r.trim() !== '')) out(`- ${row.replace('\t', ' ')}`);
  out();

  const digit = await plainDigit(3);
  const event = httpEvent({
    method: 'POST',
    path: '/predict',
    headers: { 'content-type': digit.mediaType },
    body: digit.bytes,
    base64: true,
  });
  // The two secrets as files, mounted read-only (in the cloud: SSM parameters, read at the same moment). Owned by the
  // non-root variant's uid, mode 600 as npm start makes them: root reads them too.
  const keysDir = mkdtempSync(join(tmpdir(), 'digit-measure-keys-'));
  const keys = loadOrCreateLocalKeys(keysDir);
  for (const file of [keysDir, keys.operatorKeyFile, keys.signingKeyFile]) chownSync(file, 993, 993);
  const keyEnv = { OPERATOR_KEY_FILE: '/keys/operator-key', VISITOR_SIGNING_KEY_FILE: '/keys/visitor-signing-key' };
  for (const variant of [
    { label: 'as root (the image default)', runArgs: [] as string[] },
    {
      label: 'as uid 993, read-only root filesystem, tmpfs /tmp (as Lambda runs it)',
      runArgs: ['--user', '993:993', '--read-only', '--tmpfs', '/tmp'],
    },
  ]) {
    const fn = await startFunctionContainer({
      image,
      handler: 'functions/predict.handler',
      env: { PREDICTION_STORE: 'sqlite', SQLITE_PATH: '/tmp/predictions.sqlite', ...keyEnv },
      volumes: [`${keysDir}:/keys:ro`],
      runArgs: variant.runArgs,
    });
    try {
      const cold = await fn.invoke(event);
      if (cold.statusCode !== 200) throw new Error(`predict answered ${cold.statusCode}: ${JSON.stringify(cold.body)}`);
      const roundTrips: number[] = [];
      for (let i = 0; i < warm; i++) {
        const result = await fn.invoke(event);
        if (result.statusCode !== 200) throw new Error(`predict answered ${result.statusCode}`);
        roundTrips.push(result.elapsedMs);
      }
      const reports = parseReports(await fn.logs());
      const initMs = reports.initMs;
      const durations = reports.durationsMs.slice(1);
      const peak = await peakMemory(fn.name);
      out(`Predict ${variant.label}:`);
      out(
        `- cold start: Init Duration ${initMs?.toFixed(0) ?? '?'} ms, first invocation ${reports.durationsMs[0]?.toFixed(0) ?? '?'} ms, round trip ${cold.elapsedMs.toFixed(0)} ms`,
      );
      out(
        `- warm (${warm} invocations): median Duration ${median(durations).toFixed(1)} ms, median round trip ${median(roundTrips).toFixed(1)} ms`,
      );
      out(`- peak memory of the container: ${peak === undefined ? 'not readable' : mb(peak)}`);
      out(`- backend: ${String((cold.body as { backend?: unknown }).backend ?? '(see /health)')}`);
      out();
    } finally {
      await fn.stop();
    }
  }
  rmSync(keysDir, { recursive: true, force: true });
  out(`Load average ${load()} at the end.`);
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
