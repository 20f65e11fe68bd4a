/**
 * Where the service's main thread spends its CPU on one kind of /predict, on the product path (`npm start`'s
 * stack on a Cassandra node of its own): a V8 CPU profile taken under load, as milliseconds per request by
 * category and by function. The load bench takes the same profile at the end of its run (bench/main.ts); this
 * takes only it, for one picture kind, to see what a change did.
 *
 *   npm run --silent build && npx tsx bench/profile.ts [--pictures plain|photo] [--connections 8] [--seconds 15] [--warm-up 30] [--top 25] [--backend wasm|tensorflow|auto]
 *
 * The profile is kept as bench/out/predict.cpuprofile (Chrome DevTools, Performance tab, opens it).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { digitForms } from '../model/training/digit-images';
import { freshKeyspace, localCassandra } from '../tools/cassandra';
import { profilePredict } from './run';

const { values } = parseArgs({
  options: {
    pictures: { type: 'string', default: 'plain' },
    connections: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '15' },
    'warm-up': { type: 'string', default: '30' },
    top: { type: 'string', default: '25' },
    /** The service's INFERENCE_BACKEND; serverless.yml's default (as `npm start`) when absent. */
    backend: { type: 'string' },
  },
});

async function main(): Promise<void> {
  if (values.pictures !== 'plain' && values.pictures !== 'photo') throw new Error('--pictures must be plain or photo');
  const cassandra = await localCassandra((msg) => process.stderr.write(`cassandra: ${msg}\n`));
  try {
    const forms = values.pictures === 'plain' ? await digitForms(32, 'plain') : await digitForms(32, 'redrawn', 32);
    const env = {
      PREDICTION_STORE: 'cassandra',
      CASSANDRA_CONTACT_POINTS: cassandra.contactPoints,
      CASSANDRA_LOCAL_DC: cassandra.localDataCenter,
      CASSANDRA_KEYSPACE: freshKeyspace('bench_profile'),
      ...(values.backend ? { INFERENCE_BACKEND: values.backend } : {}),
    };
    const summary = await profilePredict(env, forms, Number(values.connections), Number(values.seconds), Number(values['warm-up']));
    if (!summary) throw new Error('no profile was written');
    const per = (ms: number): string => (ms / summary.requests).toFixed(3).padStart(7);
    console.log(
      `${summary.requests} requests (${values.pictures}, ${values.connections} connections, ${values.seconds} s), ` +
        `main thread busy ${per(summary.busyMs)} ms/request; ${new Date().toISOString()}, load ${loadavg()[0]?.toFixed(2)}`,
    );
    console.log(`answers by status: ${JSON.stringify(summary.statusCodes)}`);
    for (const [category, ms] of Object.entries(summary.byCategory).sort((a, b) => b[1] - a[1])) {
      if (category !== 'idle') console.log(`${per(ms)}  ${category}`);
    }
    console.log('\nby function (self time, ms/request):');
    for (const f of summary.topFunctions.slice(0, Number(values.top))) console.log(`${per(f.ms)}  ${f.name}  ${f.where}`);
  } finally {
    await cassandra.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
