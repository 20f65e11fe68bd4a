/**
 * `npm start`: the whole local stack in one command. Compiles the handlers and the page, starts the local
 * S3-compatible server (the page bucket with website hosting, the uploads bucket; scripts/s3-local.ts),
 * serverless-offline on http://localhost:3000 with the embedded SQLite store (or a local Cassandra node with
 * `-- --cassandra`, or the cluster in CASSANDRA_CONTACT_POINTS), publishes the page with a config.json naming
 * the API, prints the URLs, and stops everything on Ctrl-C. At the first start it creates the operator key
 * and the visitor signing key in .local/ (scripts/local-keys.ts) and prints the operator key, that once.
 * `-- --verbose` adds serverless-offline's own lines for each request (the route, the request id and duration).
 */
// First, before anything that loads a native module: on a Node older than 24 it prints one line and exits.
import './check-node.cjs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../tools/root';
import { type ServiceWithBuckets, startWithBuckets } from '../tools/service';
import type { CassandraNode } from './cassandra/launcher';
import { restrictLocalFiles } from './local-keys';
import { defaultS3Directory } from './s3-local';

/** `npm run build`, the one definition of the build (a clean dist/ and web/dist/, the handlers, the page). */
function build(): void {
  process.stdout.write('Compiling the handlers and the page (npm run build)...\n');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('the build failed (npm run build)');
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const unknown = [...args].filter((arg) => arg !== '--cassandra' && arg !== '--verbose');
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')}; usage: npm start [-- --cassandra] [--verbose]`);

  // .local/ and all that goes into it (keys, the SQLite file, kept uploads, Cassandra's data) for the owner only.
  restrictLocalFiles(join(ROOT, '.local'));
  build();
  const env: Record<string, string> = {};
  let cassandra: CassandraNode | undefined;
  let stack: ServiceWithBuckets | undefined;
  let stopping = false;
  const stopAll = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      process.stdout.write('\nStopping...\n');
      await stack?.stop();
      await cassandra?.stop();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  if (args.has('--cassandra') && !process.env.CASSANDRA_CONTACT_POINTS) {
    const { startCassandra } = await import('./cassandra/launcher.js');
    cassandra = await startCassandra({
      nativePort: Number(process.env.CASSANDRA_PORT ?? 9042),
      dataDir: join(ROOT, '.local', 'cassandra', 'dev'),
      onProgress: (message) => process.stdout.write(`[cassandra] ${message}\n`),
    });
    env.CASSANDRA_CONTACT_POINTS = cassandra.contactPoint;
    env.CASSANDRA_LOCAL_DC = cassandra.localDataCenter;
    process.stdout.write(`[cassandra] ${cassandra.contactPoint}, data in ${cassandra.dataDir}\n`);
  }
  const store =
    env.CASSANDRA_CONTACT_POINTS || process.env.CASSANDRA_CONTACT_POINTS
      ? `Cassandra at ${env.CASSANDRA_CONTACT_POINTS ?? process.env.CASSANDRA_CONTACT_POINTS}`
      : 'embedded SQLite (.local/predictions.sqlite)';

  stack = await startWithBuckets({
    s3Port: Number(process.env.S3_PORT ?? 4569),
    s3Directory: defaultS3Directory(ROOT),
    port: Number(process.env.PORT ?? 3000),
    lambdaPort: Number(process.env.LAMBDA_PORT ?? 3002),
    env,
    output: 'inherit',
    // serverless-offline's own lines per request (the service logs its own JSON line for each either way).
    verbose: args.has('--verbose'),
  });
  const { service, s3 } = stack;
  service.child.once('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`serverless-offline exited (${code}); stopping.\n`);
      void stopAll(1);
    }
  });
  const url = service.url.replace('127.0.0.1', 'localhost');
  // The page calls the API by the address it listens on, so the browser never tries IPv6 first.
  await s3.publishPage({ apiUrl: service.url });
  // In the Compose stack (docker-compose.yml) this banner lands in the container's log: .local is the container's
  // (a volume, not the host's .local) and nobody can press Ctrl-C; `npm run stack:up` prints the key on the host.
  const inStack = process.env.DIGIT_COMPOSE_STACK === '1';
  const operator = inStack
    ? ["  operator key  in this container's .local/operator-key (the service-local volume); `npm run stack:up` prints it"]
    : service.createdOperatorKey
      ? [
          '',
          `  OPERATOR KEY (shown this once; kept in .local/operator-key, mode 600): ${service.operatorKey}`,
          `    everyone's predictions:  curl -H "Authorization: Bearer $(head -1 .local/operator-key)" ${url}/history`,
          '    on the page: "Operator view", paste the key (kept for the tab only).',
        ]
      : [`  operator key  .local/operator-key     curl -H "Authorization: Bearer $(head -1 .local/operator-key)" ${url}/history`];
  process.stdout.write(
    [
      '',
      'Digit service is up.',
      `  page     ${s3.pageUrl}     (served from the local bucket "${s3.pageBucket}")`,
      `  predict  POST ${url}/predict     curl -F image=@digit.png ${url}/predict   (answers a visitorToken)`,
      `  history  GET  ${url}/history     with -H "Authorization: Bearer <visitorToken or operator key>"`,
      `  one      GET|DELETE ${url}/predictions/<id>     the owner's token or the operator key`,
      `  health   GET  ${url}/health`,
      `  openapi  GET  ${url}/openapi.json     the API described (OpenAPI 3)`,
      `  store    ${store}`,
      `  uploads  bucket "${s3.uploadsBucket}" on ${s3.endpoint}, data in .local/s3`,
      `  s3 key   .local/s3-credentials.json (mode 600; every request but a read of the page must be signed with it)`,
      '  tokens   signed with .local/visitor-signing-key (mode 600)',
      ...operator,
      inStack ? 'Runs detached in the Compose stack: `npm run stack:down` on the host stops it.' : 'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
