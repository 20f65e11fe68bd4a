/**
 * What one kept upload costs the local S3 server (scripts/s3-local.ts): PutObjects of the service's own
 * uploads (32 plain 28x28 MNIST PNGs of 400 to 600 bytes, content-addressed keys) sent through the service's
 * own client (layers/uploads/bucket.ts: SigV4 header auth, ChecksumSHA256), at 1 and 8 concurrent requests, of
 * new keys (a first upload) and of the same 32 again (a repeated one: the bench's load sends 32 pictures),
 * with the server in a child process so that its CPU is read apart from the client's, from /proc/<pid>/stat
 * (all its threads, 10 ms ticks: hence the default of 3000 PUTs a row). Prints PUT/s, client and server CPU
 * ms a PUT (the server's kernel share apart: file system work), and one presigned GET row (what a browser fetching a /history thumbnail costs).
 *
 *   npx tsx bench/s3-local.ts [--requests 3000] [--profile DIR]
 *
 * `--profile` writes a V8 CPU profile of the server (node --cpu-prof) into DIR.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createUploadsBucket, uploadKey } from '#uploads/bucket';
import { plainDigit } from '../model/training/digit-images';
import { type LocalCredentials, startS3Local } from '../scripts/s3-local';

/** User and system CPU ms of process `pid`, all its threads (/proc/<pid>/stat, 100 ticks a second). */
function cpuMs(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

interface Started {
  endpoint: string;
  uploadsBucket: string;
  credentials: LocalCredentials;
}

/** The child: the server alone, its address on the first line of stdout, stopped by SIGINT. */
async function serve(directory: string): Promise<void> {
  const s3 = await startS3Local({ directory });
  process.stdout.write(
    `${JSON.stringify({ endpoint: s3.endpoint, uploadsBucket: s3.uploadsBucket, credentials: s3.credentials } satisfies Started)}\n`,
  );
  process.once('SIGINT', () => void s3.stop().then(() => process.exit(0)));
}

async function startChild(directory: string, profile: string | undefined): Promise<{ child: ChildProcess; started: Started }> {
  const flags = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', __filename, 'serve', directory], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was up`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
  });
  return { child, started: JSON.parse(line) as Started };
}

async function measure(): Promise<void> {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '3000' }, profile: { type: 'string' } } });
  const requests = Number(values.requests);
  const directory = mkdtempSync(join(tmpdir(), 'digit-s3-bench-'));
  const { child, started } = await startChild(join(directory, 's3'), values.profile);
  const pid = child.pid as number;
  try {
    const bucket = createUploadsBucket({
      bucket: started.uploadsBucket,
      region: 'us-east-1',
      endpoint: started.endpoint,
      forcePathStyle: true,
      credentials: started.credentials,
      urlTtlSeconds: 900,
    });
    const pictures = await Promise.all(
      Array.from({ length: 32 }, async (_, index) => {
        const bytes = (await plainDigit(index)).bytes;
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        return { bytes, sha256, key: uploadKey(sha256, 'image/png') };
      }),
    );
    const run = async (count: number, concurrency: number, one: (index: number) => Promise<void>) => {
      let next = 0;
      const wall = performance.now();
      const client = process.cpuUsage();
      const server = cpuMs(pid);
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) await one(next++);
        }),
      );
      const seconds = (performance.now() - wall) / 1000;
      const clientCpu = process.cpuUsage(client);
      const serverAfter = cpuMs(pid);
      return {
        perSecond: Math.round(count / seconds),
        clientMs: (clientCpu.user + clientCpu.system) / 1000 / count,
        serverMs: (serverAfter.user + serverAfter.system - server.user - server.system) / count,
        serverSystemMs: (serverAfter.system - server.system) / count,
      };
    };
    const put = async (index: number) => {
      const picture = pictures[index % pictures.length] as (typeof pictures)[number];
      await bucket.put(picture.key, picture.bytes, 'image/png', picture.sha256);
    };
    // Uploads never seen before: as many objects as requests (random bytes of a digit's size, the server does
    // not read them).
    const fresh = (count: number) =>
      Array.from({ length: count }, () => {
        const bytes = randomBytes(pictures[0]?.bytes.length ?? 500);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        return { bytes, sha256, key: uploadKey(sha256, 'image/png') };
      });
    await run(300, 4, put); // warm-up: JIT, connections, directories
    const rows: string[] = [];
    const row = (what: string, concurrency: number, r: Awaited<ReturnType<typeof run>>) =>
      `${what.padEnd(26)} ${String(concurrency).padStart(2)} concurrent ${String(r.perSecond).padStart(6)}/s   client ${r.clientMs.toFixed(2)} ms   server ${r.serverMs.toFixed(2)} ms CPU a request (${r.serverSystemMs.toFixed(2)} in the kernel)`;
    for (const concurrency of [1, 8]) {
      const uploads = fresh(requests);
      const r = await run(requests, concurrency, async (index) => {
        const upload = uploads[index] as (typeof uploads)[number];
        await bucket.put(upload.key, upload.bytes, 'image/png', upload.sha256);
      });
      rows.push(row('PUT, new keys', concurrency, r));
    }
    for (const concurrency of [1, 8]) rows.push(row('PUT, the same 32 again', concurrency, await run(requests, concurrency, put)));
    const urls = await Promise.all(pictures.map((picture) => bucket.signedUrl(picture.key)));
    const get = async (index: number) => {
      const response = await fetch(urls[index % urls.length] as string);
      if (response.status !== 200) throw new Error(`presigned GET answered ${response.status}`);
      await response.arrayBuffer();
    };
    await run(300, 4, get);
    rows.push(`${row('GET, presigned (fetch)', 8, await run(requests, 8, get))}`);
    process.stdout.write(
      `local S3 server, ${requests} requests a row, ${pictures[0]?.bytes.length} to ${Math.max(...pictures.map((p) => p.bytes.length))} byte PNGs\n${rows.join('\n')}\n`,
    );
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'serve') {
  void serve(process.argv[3] as string);
} else {
  measure().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
