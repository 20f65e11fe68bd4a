/**
 * `npm run cassandra:start`: one local Cassandra node for development, kept running until Ctrl-C / SIGTERM.
 * Data persists in .local/cassandra/dev (or --data-dir) between runs; CQL on 127.0.0.1:9042 by default.
 *
 *   npm run cassandra:start -- [--port 9042] [--address 127.0.0.1] [--data-dir DIR] [--heap 1G]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startCassandra } from './launcher';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '9042' },
      address: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string', default: path.resolve(__dirname, '..', '..', '.local', 'cassandra', 'dev') },
      heap: { type: 'string', default: '1G' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be a TCP port, got ${values.port}`);

  // A signal during start-up stops the half-started node too.
  const starting = new AbortController();
  const abortStart = (): void => starting.abort();
  process.once('SIGINT', abortStart);
  process.once('SIGTERM', abortStart);
  const node = await startCassandra({
    signal: starting.signal,
    address: values.address,
    nativePort: port,
    storagePort: 7000,
    dataDir: path.resolve(values['data-dir']),
    heap: values.heap,
    onProgress: (msg) => console.log(`[cassandra] ${msg}`),
  });
  console.log('');
  console.log(`Cassandra is up (started in ${(node.startupMs / 1000).toFixed(1)} s, pid ${node.pid})`);
  console.log(`  contact point : ${node.contactPoint}`);
  console.log(`  data directory: ${node.dataDir}`);
  console.log(`  log           : ${node.logFile}`);
  console.log(`  use it        : CASSANDRA_CONTACT_POINTS=${node.contactPoint} CASSANDRA_LOCAL_DC=${node.localDataCenter}`);
  console.log('Ctrl-C stops it.');

  process.removeListener('SIGINT', abortStart);
  process.removeListener('SIGTERM', abortStart);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[cassandra] ${signal}: stopping…`);
    node.stop().then(
      () => {
        console.log('[cassandra] stopped');
        process.exit(0);
      },
      (err: unknown) => {
        console.error('[cassandra] stop failed:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
