/**
 * `npm run cost`: the cloud bill per million predictions (us-east-1, on-demand), every part counted, before and
 * after the store change that writes each record once. What it measures itself, on this machine:
 *   - the predict and history handlers run in process (real model on wasm, the SQLite store, a visitor's token):
 *     their median duration (Lambda GB-seconds) and the bytes each request writes to stdout, which Lambda sends
 *     to CloudWatch Logs (the JSON log line and the metrics lines);
 *   - the Keyspaces write units of a save, from the rows the store sends (bench/write-units.ts), and the read units
 *     and stored bytes of the same rows.
 * What it assumes is named in ASSUMPTIONS and printed with the table. Unit prices are in PRICES with the page they
 * are published on and the day they were taken; they were written from the published price lists as known on
 * that day, not fetched: verify them on the pages before quoting the figures.
 *
 *   npm run cost [-- --requests 30]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HISTORY_DEFAULT_LIMIT } from '../layers/contract/limits';
import { predictionCells } from '../layers/stats/cells';
import { rowBytes } from '../layers/store/cassandra/keyspaces-units';
import { type RowWrite, recordRow } from '../layers/store/cassandra/rows';
import { saveRows } from '../layers/store/cassandra/store';
import { plainDigit } from '../model/training/digit-images';
import { loadOrCreateLocalKeys } from '../scripts/local-keys';
import { httpEvent, predictEvent } from '../tools/events';
import { RETENTION_MS, realisticRecord, rowsBefore } from './write-units';

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '30' } } });
const REQUESTS = Number(args.requests);

const CHECKED = '2026-12-07';
/** Unit prices, us-east-1, as published on the named pages (checked CHECKED from the published lists: verify). */
const PRICES = {
  lambdaGbSecond: { usd: 0.0000166667, per: 'GB-second', source: 'aws.amazon.com/lambda/pricing (x86, first 6 billion GB-s a month)' },
  lambdaRequest: { usd: 0.2 / 1e6, per: 'request', source: 'aws.amazon.com/lambda/pricing (requests)' },
  httpApiRequest: { usd: 1.0 / 1e6, per: 'request', source: 'aws.amazon.com/api-gateway/pricing (HTTP APIs, first 300 million)' },
  s3Put: { usd: 0.005 / 1000, per: 'request', source: 'aws.amazon.com/s3/pricing (S3 Standard, PUT, COPY, POST, LIST)' },
  s3Get: { usd: 0.0004 / 1000, per: 'request', source: 'aws.amazon.com/s3/pricing (S3 Standard, GET, SELECT)' },
  s3GbMonth: { usd: 0.023, per: 'GB-month', source: 'aws.amazon.com/s3/pricing (S3 Standard, first 50 TB)' },
  keyspacesWru: { usd: 0.625 / 1e6, per: 'write request unit', source: 'aws.amazon.com/keyspaces/pricing (on-demand, write request unit)' },
  keyspacesRru: {
    usd: 0.125 / 1e6,
    per: 'read request unit',
    source: 'aws.amazon.com/keyspaces/pricing (on-demand, read request unit, LOCAL_QUORUM)',
  },
  keyspacesGbMonth: { usd: 0.3, per: 'GB-month', source: 'aws.amazon.com/keyspaces/pricing (storage)' },
  keyspacesTtlDelete: {
    usd: 0.5 / 1e6,
    per: 'expired row-KB',
    source: 'aws.amazon.com/keyspaces/pricing (Time to Live, per million expired rows of up to 1 KB)',
  },
  logsIngestGb: { usd: 0.5, per: 'GB ingested', source: 'aws.amazon.com/cloudwatch/pricing (Logs, standard ingestion)' },
  logsStoreGbMonth: { usd: 0.03, per: 'GB-month stored', source: 'aws.amazon.com/cloudwatch/pricing (Logs, archival storage)' },
  ssmStandardGet: {
    usd: 0,
    per: 'GetParameter',
    source: 'aws.amazon.com/systems-manager/pricing (Parameter Store, standard parameters and throughput)',
  },
} as const;

const DAY_MS = 86_400_000;
const RETENTION_DAYS = RETENTION_MS / DAY_MS;
const LOG_RETENTION_DAYS = 14; // serverless.yml logRetentionInDays
const PREDICT_MB = 1769; // serverless.yml functions.predict.memorySize
const HISTORY_MB = 512; // serverless.yml functions.history.memorySize
const MONTH_DAYS = 30.4;

/** What the figures assume about use; each printed with the table. */
const ASSUMPTIONS = {
  historyPagesPerPrediction: 1, // the page reloads the visitor's history after each prediction (web/src/main.ts)
  historyItemsPerPage: HISTORY_DEFAULT_LIMIT,
  originalsOpenedPerPrediction: 0.1, // the history links to the kept upload; the thumbnail is the stored preview
  counterRowsPerPrediction: predictionCells(
    { confidence: 0.9, createdAt: new Date().toISOString(), digit: 7, modelVersion: 'm' } as never,
    false,
  ).length, // one prediction a statistics flush (CASSANDRA_STATS_FLUSH_MS): the worst case, a quiet service
  coldStartsPerMillion: 2000, // two SSM reads each; standard parameters cost nothing either way
};

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

interface Measured {
  predictMs: number;
  historyMs: number;
  predictLogBytes: number;
  historyLogBytes: number;
  uploadBytes: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Runs `call` with stdout captured: its duration and the bytes it wrote (what Lambda would ship to CloudWatch Logs). */
async function captured(call: () => Promise<unknown>): Promise<{ ms: number; bytes: number }> {
  const write = process.stdout.write.bind(process.stdout);
  let bytes = 0;
  // Counted, not shown: the table is what this script prints.
  process.stdout.write = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }) as typeof process.stdout.write;
  const started = performance.now();
  try {
    await call();
  } finally {
    process.stdout.write = write;
  }
  return { ms: performance.now() - started, bytes };
}

async function measureHandlers(): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'digit-cost-'));
  process.env.SQLITE_PATH = join(dir, 'predictions.sqlite');
  process.env.PREDICTION_STORE = 'sqlite';
  // The cloud stage's backend (serverless.yml inferenceBackend).
  process.env.INFERENCE_BACKEND = 'wasm';
  Object.assign(process.env, loadOrCreateLocalKeys(join(dir, 'keys')).env);
  try {
    const { handler: predict } = (await import('../functions/predict.js')) as { handler: Handler };
    const { handler: history } = (await import('../functions/history.js')) as { handler: Handler };
    const digit = await plainDigit(0);
    const upload = (name: string) => [{ field: 'image', filename: name, contentType: 'image/png', content: digit.bytes }];
    // The first request loads the model and opens the store: a cold start, not counted.
    let first: APIGatewayProxyStructuredResultV2 = {};
    await captured(async () => {
      first = await predict(predictEvent(upload('warm-up.png')));
    });
    const token = (JSON.parse(first.body ?? '{}') as { visitorToken?: string }).visitorToken ?? '';
    const bearer = { authorization: `Bearer ${token}` };
    await captured(() => history(httpEvent({ path: '/history', headers: bearer })));
    const predicts: Array<{ ms: number; bytes: number }> = [];
    const histories: Array<{ ms: number; bytes: number }> = [];
    for (let i = 0; i < REQUESTS; i += 1) {
      predicts.push(await captured(() => predict(predictEvent(upload(`digit-${i}.png`), { headers: bearer }))));
      histories.push(await captured(() => history(httpEvent({ path: '/history', headers: bearer }))));
    }
    return {
      predictMs: median(predicts.map((p) => p.ms)),
      historyMs: median(histories.map((h) => h.ms)),
      predictLogBytes: median(predicts.map((p) => p.bytes)),
      historyLogBytes: median(histories.map((h) => h.bytes)),
      uploadBytes: digit.bytes.length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface StoreFigures {
  wru: number;
  rru: number;
  storedBytes: number;
  ttlRows: number;
}

const units = (bytes: number, per: number): number => Math.ceil(bytes / per);

/** Keyspaces per prediction: writes of a save, reads of one history page, bytes kept, rows that expire by TTL. */
function keyspacesFigures(
  rows: RowWrite[],
  logged: boolean,
  page: { indexReads: number; itemBytes: number; listRowBytes: number | null },
): StoreFigures {
  const written = rows.map(rowBytes);
  const wru = written.reduce((sum, b) => sum + units(b, 1024), 0) * (logged ? 2 : 1) + ASSUMPTIONS.counterRowsPerPrediction;
  const items = ASSUMPTIONS.historyItemsPerPage;
  // Now: the list partition (small rows, one read) and each record by id (one unit each, up to 4 KB); before: the
  // whole rows in one partition read, 4 KB a unit.
  const rru =
    page.indexReads +
    (page.listRowBytes === null
      ? units(items * page.itemBytes, 4096)
      : units(items * page.listRowBytes, 4096) + items * units(page.itemBytes, 4096));
  return {
    wru,
    rru: rru * ASSUMPTIONS.historyPagesPerPrediction,
    storedBytes: written.reduce((sum, b) => sum + b, 0),
    ttlRows: written.reduce((sum, b) => sum + units(b, 1024), 0),
  };
}

interface Line {
  part: string;
  before: number;
  after: number;
  how: string;
}

function bill(m: Measured, before: StoreFigures, after: StoreFigures): Line[] {
  const M = 1e6;
  const gbSeconds = (mb: number, ms: number): number => (mb / 1024) * (ms / 1000);
  const lambdaCompute =
    M *
    (gbSeconds(PREDICT_MB, m.predictMs) + ASSUMPTIONS.historyPagesPerPrediction * gbSeconds(HISTORY_MB, m.historyMs)) *
    PRICES.lambdaGbSecond.usd;
  const requests = M * (1 + ASSUMPTIONS.historyPagesPerPrediction);
  const logBytes = M * (m.predictLogBytes + ASSUMPTIONS.historyPagesPerPrediction * m.historyLogBytes);
  const storedMonths = RETENTION_DAYS / MONTH_DAYS;
  const same = (part: string, usd: number, how: string): Line => ({ part, before: usd, after: usd, how });
  const ks = (f: StoreFigures) => ({
    writes: M * f.wru * PRICES.keyspacesWru.usd,
    reads: M * f.rru * PRICES.keyspacesRru.usd,
    storage: ((M * f.storedBytes) / 1e9) * storedMonths * PRICES.keyspacesGbMonth.usd,
    ttl: M * f.ttlRows * PRICES.keyspacesTtlDelete.usd,
  });
  const [kb, ka] = [ks(before), ks(after)];
  return [
    same(
      'Lambda compute',
      lambdaCompute,
      `predict ${PREDICT_MB} MB x ${m.predictMs.toFixed(0)} ms, history ${HISTORY_MB} MB x ${m.historyMs.toFixed(0)} ms (in process on SQLite: Keyspaces round trips not counted)`,
    ),
    same('Lambda requests', requests * PRICES.lambdaRequest.usd, `${requests / M} per prediction (predict, history)`),
    same('HTTP API', requests * PRICES.httpApiRequest.usd, `${requests / M} requests per prediction`),
    same('S3 PUT (kept upload)', M * PRICES.s3Put.usd, 'one per prediction'),
    same(
      'S3 GET (originals opened)',
      M * ASSUMPTIONS.originalsOpenedPerPrediction * PRICES.s3Get.usd,
      `${ASSUMPTIONS.originalsOpenedPerPrediction} per prediction`,
    ),
    same(
      'S3 storage',
      ((M * m.uploadBytes) / 1e9) * storedMonths * PRICES.s3GbMonth.usd,
      `${m.uploadBytes} B a 28x28 PNG, kept ${RETENTION_DAYS} days (a photo of ~100 KB: x${Math.round(100_000 / m.uploadBytes)})`,
    ),
    {
      part: 'Keyspaces writes',
      before: kb.writes,
      after: ka.writes,
      how: `${before.wru} -> ${after.wru} WRU (${ASSUMPTIONS.counterRowsPerPrediction} of them statistics counters)`,
    },
    {
      part: 'Keyspaces reads',
      before: kb.reads,
      after: ka.reads,
      how: `${before.rru} -> ${after.rru} RRU: one history page of ${ASSUMPTIONS.historyItemsPerPage}`,
    },
    {
      part: 'Keyspaces storage',
      before: kb.storage,
      after: ka.storage,
      how: `${before.storedBytes} -> ${after.storedBytes} B a prediction, kept ${RETENTION_DAYS} days`,
    },
    { part: 'Keyspaces TTL deletes', before: kb.ttl, after: ka.ttl, how: `${before.ttlRows} -> ${after.ttlRows} row-KB expiring` },
    same(
      'CloudWatch Logs',
      (logBytes / 1e9) * (PRICES.logsIngestGb.usd + PRICES.logsStoreGbMonth.usd * (LOG_RETENTION_DAYS / MONTH_DAYS)),
      `${m.predictLogBytes} B a predict, ${m.historyLogBytes} B a history page (log and metrics lines), kept ${LOG_RETENTION_DAYS} days`,
    ),
    same(
      'SSM Parameter Store',
      ASSUMPTIONS.coldStartsPerMillion * 2 * PRICES.ssmStandardGet.usd,
      'two standard parameters read per cold start',
    ),
  ];
}

async function main(): Promise<void> {
  const measured = await measureHandlers();
  const record = await realisticRecord('digit-7.png', '7');
  const now = saveRows(record, { bucketMs: DAY_MS, retentionMs: RETENTION_MS });
  const itemBytes = rowBytes(recordRow(record, 1));
  const listRowBytes = Math.max(...now.lists.filter((r) => r.table !== 'prediction_images').map(rowBytes));
  const after = keyspacesFigures([now.record, ...now.lists.filter((r) => r.table !== 'prediction_buckets')], false, {
    indexReads: 1,
    itemBytes,
    listRowBytes,
  });
  const legacy = rowsBefore(record);
  const before = keyspacesFigures(legacy, true, { indexReads: 1, itemBytes: rowBytes(legacy[4] as RowWrite), listRowBytes: null });
  const lines = bill(measured, before, after);
  const total = (pick: (l: Line) => number) => lines.reduce((sum, l) => sum + pick(l), 0);
  const usd = (n: number) => (n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
  const out: string[] = [];
  out.push(
    `Cloud bill per million plain-digit predictions, us-east-1 on-demand; measured ${new Date().toISOString()} on ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)}, \`npm run cost\`.`,
  );
  out.push('');
  out.push('| part | before (cbc29d7) | after | how |');
  out.push('| --- | ---: | ---: | --- |');
  for (const l of lines) out.push(`| ${l.part} | ${usd(l.before)} | ${usd(l.after)} | ${l.how} |`);
  out.push(`| **total** | **${usd(total((l) => l.before))}** | **${usd(total((l) => l.after))}** | |`);
  out.push('');
  out.push(`Unit prices (as published, checked ${CHECKED}: verify on the pages before quoting):`);
  out.push('');
  out.push('| price | USD | per | source page |');
  out.push('| --- | ---: | --- | --- |');
  for (const [name, p] of Object.entries(PRICES)) {
    const shown = p.usd > 0 && p.usd < 0.001 ? `${(p.usd * 1e6).toPrecision(4)} per million` : String(p.usd);
    out.push(`| ${name} | ${shown} | ${p.per} | ${p.source} |`);
  }
  out.push('');
  out.push(`Assumptions: ${JSON.stringify(ASSUMPTIONS)}`);
  console.log(out.join('\n'));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
