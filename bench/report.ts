/**
 * What `npm run bench` writes: the report's shape, the tables of bench/out/results.md (the README's), and
 * the files themselves (results.json, results.md, load.png), all under bench/out/ (git-ignored).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeLoadChartPng } from './chart';
import type { ProfileSummary } from './cpu';
import type { InferenceResult } from './inference';
import { BENCH_OUT, type ColdStartReport, fmt } from './out';
import type { LoadRow } from './run';
import type { StagesResult } from './stages';
import type { TargetResult } from './targets';
import { type WriteUnitsFigure, writeUnitLines } from './write-units';

export { BENCH_OUT, type ColdStartReport, fmt };

export interface BenchReport {
  measuredAt: string;
  machine: string;
  durationSeconds: number;
  /** 1-minute load average when the load runs began and when they ended: other work on the machine shows here. */
  loadAverage: { start: number; end: number };
  store: string;
  backend: string;
  modelVersion: string;
  load: LoadRow[];
  inference: InferenceResult[];
  stages: StagesResult[];
  profile: (ProfileSummary & { connections: number; seconds: number }) | null;
  coldStart: ColdStartReport | null;
  /** Keyspaces write request units per prediction (bench/write-units.ts). */
  writeUnits: WriteUnitsFigure[];
  targets: TargetResult[];
}

function markdown(report: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `Measured ${report.measuredAt} on ${report.machine}; ${report.durationSeconds} s per run, Cassandra ${report.store}, inference on ${report.backend}, ` +
      `model ${report.modelVersion}; 1-minute load average ${report.loadAverage.start.toFixed(1)} before the runs, ${report.loadAverage.end.toFixed(1)} after.`,
  );
  lines.push('');
  lines.push(
    '| endpoint | connections | requests/s | vs /health | p50 ms | p90 ms | p99 ms | errors | non-2xx | service CPU ms/req | Cassandra CPU ms/req | S3 server CPU ms/req |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of report.load) {
    lines.push(
      `| ${r.endpoint} | ${r.connections} | ${fmt(r.requestsPerSecond, 0)} | ${r.ratioToHealth === null ? '–' : `${(r.ratioToHealth * 100).toFixed(0)}%`} | ${r.latencyMs.p50} | ${r.latencyMs.p90} | ${r.latencyMs.p99} | ${r.errors + r.timeouts} | ${r.non2xx} | ${fmt(r.cpuMsPerRequest.service, 2)} | ${fmt(r.cpuMsPerRequest.cassandra, 2)} | ${fmt(r.cpuMsPerRequest.s3Server, 2)} |`,
    );
  }
  lines.push('');
  if (report.inference.length) {
    lines.push('| inference backend | batch 1: ms/image | batch 32: ms/image | batch 32: ms/call |');
    lines.push('| --- | ---: | ---: | ---: |');
    for (const i of report.inference) {
      const b1 = i.batches.find((b) => b.batch === 1);
      const b32 = i.batches.find((b) => b.batch === 32);
      lines.push(`| ${i.backend} | ${fmt(b1?.msPerImage, 3)} | ${fmt(b32?.msPerImage, 3)} | ${fmt(b32?.msPerCallMedian, 2)} |`);
    }
    lines.push('');
  }
  if (report.coldStart) {
    lines.push('| cold start (bundle, process start to first prediction) | median ms | min–max ms | runs |');
    lines.push('| --- | ---: | ---: | ---: |');
    for (const [backend, c] of Object.entries(report.coldStart.backends)) {
      lines.push(
        `| ${backend} | ${fmt(c.coldStartMs.median, 0)} | ${fmt(c.coldStartMs.min, 0)}–${fmt(c.coldStartMs.max, 0)} | ${c.runs} |`,
      );
    }
    lines.push('');
  }
  for (const s of report.stages) {
    lines.push(`| /predict stage, ${s.kind} digits (alone, sequential) | median ms | p90 ms |`);
    lines.push('| --- | ---: | ---: |');
    for (const [stage, t] of Object.entries(s.stages)) lines.push(`| ${stage} | ${fmt(t.median, 2)} | ${fmt(t.p90, 2)} |`);
    lines.push(`| **all stages** | **${fmt(s.totalMedian, 2)}** | |`);
    lines.push('');
  }
  if (report.profile) {
    lines.push(`| service main thread under /predict load (CPU profile, ${report.profile.connections} connections) | share of busy time |`);
    lines.push('| --- | ---: |');
    const busy = report.profile.busyMs;
    for (const [category, ms] of Object.entries(report.profile.byCategory)
      .filter(([c]) => c !== 'idle')
      .sort((a, b) => b[1] - a[1])) {
      lines.push(`| ${category} | ${((ms / busy) * 100).toFixed(1)}% |`);
    }
    lines.push(
      `| (idle: ${(((report.profile.byCategory.idle ?? 0) / report.profile.totalMs) * 100).toFixed(0)}% of the profiled time) | |`,
    );
    lines.push('');
    lines.push('| heaviest functions on the main thread (self time) | category | share of busy time |');
    lines.push('| --- | --- | ---: |');
    for (const f of report.profile.topFunctions.slice(0, 12))
      lines.push(`| \`${f.name}\` ${f.where} | ${f.category} | ${((f.ms / busy) * 100).toFixed(1)}% |`);
    lines.push('');
  }
  for (const line of writeUnitLines(report.writeUnits)) lines.push(`${line}  `);
  lines.push('');
  lines.push('| target (2 cores) | measured | met |');
  lines.push('| --- | --- | --- |');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : 'no'} |`);
  return lines.join('\n');
}

/** Writes results.json, results.md and load.png to bench/out/ and prints the tables. */
export async function writeReport(report: BenchReport): Promise<void> {
  writeFileSync(join(BENCH_OUT, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  const table = markdown(report);
  writeFileSync(join(BENCH_OUT, 'results.md'), `${table}\n`);
  await writeLoadChartPng(
    report.load.map((r) => ({
      // Short labels: six groups share the width (* marks the rows without a bucket).
      endpoint: r.endpoint
        .replace(/^(POST|GET) /, '')
        .replace('/predict (28x28 PNG)', 'PNG')
        .replace('/predict (photo JPEG)', 'photo')
        .replace('/predict (28x28 PNG, upload not kept)', 'PNG*')
        .replace('/predict (photo JPEG, upload not kept)', 'photo*'),
      connections: r.connections,
      requestsPerSecond: r.requestsPerSecond,
      p99Ms: r.latencyMs.p99,
    })),
    'Digit service as npm start runs it: serverless-offline, local S3, Cassandra (2 cores)',
    `/predict with a PNG or a photo; * upload not kept. ${report.durationSeconds} s per run with autocannon; ${report.measuredAt.slice(0, 16).replace('T', ' ')} UTC`,
    join(BENCH_OUT, 'load.png'),
  );
  console.log(`\n${table}\n`);
  console.log('written: bench/out/results.json, bench/out/results.md, bench/out/load.png');
}
