/**
 * Chooses the store the configuration names. Each store's driver is loaded only when it is used, so the
 * cloud image never loads better-sqlite3 and a first `npm start` never loads the Cassandra driver.
 */
import type { AppConfig } from '#config/config';
import type { PredictionStore } from './prediction-store';

const DAY_MS = 86_400_000;

function retentionMs(config: AppConfig): number {
  return config.retentionDays * DAY_MS;
}

export async function createStore(config: AppConfig): Promise<PredictionStore> {
  if (config.store === 'sqlite') {
    const { SqliteStore } = await import('./sqlite/store.js');
    return new SqliteStore(config.sqlitePath, { retentionMs: retentionMs(config) });
  }
  if (!config.cassandra) throw new Error('The configuration names the Cassandra store but holds no Cassandra settings.');
  const { createCassandraStore } = await import('./cassandra/store.js');
  const store = createCassandraStore(config.cassandra, { retentionMs: retentionMs(config) });
  // Connect and create the schema at cold start; a failure here is a 503 and the next call tries again.
  await store.init();
  return store;
}
