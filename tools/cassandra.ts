/**
 * Cassandra for a test or a bench run: the cluster named by CASSANDRA_CONTACT_POINTS (scripts/cassandra/
 * with-cassandra.ts sets it for `npm test`) or a node of its own on free ports, a throwaway keyspace per run,
 * and an admin client to read tables directly and drop the keyspace afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'cassandra-driver';
import { type CassandraNode, LOCAL_DATA_CENTER, startCassandra } from '../scripts/cassandra/launcher';

export interface LocalCassandra {
  /** host:port[,host:port...], as CASSANDRA_CONTACT_POINTS takes it. */
  contactPoints: string;
  localDataCenter: string;
  /** The node started here; undefined when CASSANDRA_CONTACT_POINTS named a cluster. */
  node: CassandraNode | undefined;
  /** Stops the node started here; leaves a given cluster alone. */
  stop(): Promise<void>;
}

/**
 * CASSANDRA_CONTACT_POINTS when set, else a node of its own on free ports with a throwaway data directory,
 * reporting its start-up through `onProgress` (by default `[cassandra] ...` lines on stderr).
 */
export async function localCassandra(onProgress = (msg: string): void => console.error(`[cassandra] ${msg}`)): Promise<LocalCassandra> {
  const given = process.env.CASSANDRA_CONTACT_POINTS;
  const localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? LOCAL_DATA_CENTER;
  if (given) return { contactPoints: given, localDataCenter, node: undefined, stop: async () => undefined };
  const node = await startCassandra({ onProgress });
  return { contactPoints: node.contactPoint, localDataCenter: node.localDataCenter, node, stop: () => node.stop() };
}

/** A keyspace name of its own for one run: `<prefix>_<12 hex>`. */
export function freshKeyspace(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** An admin client on the given contact points (host:port, comma-separated), connected. */
export async function adminClient(
  contactPoints: string,
  localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? LOCAL_DATA_CENTER,
): Promise<Client> {
  const client = new Client({ contactPoints: contactPoints.split(','), localDataCenter, socketOptions: { readTimeout: 20_000 } });
  await client.connect();
  return client;
}

/** Drops the keyspaces, if the cluster can be reached at all; a failure is logged, never thrown (clean-up). */
export async function dropKeyspaces(contactPoints: string, keyspaces: readonly string[]): Promise<void> {
  if (keyspaces.length === 0) return;
  const client = await adminClient(contactPoints).catch(() => null);
  if (!client) return;
  for (const keyspace of keyspaces) {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch((err: unknown) => console.error(`drop ${keyspace}:`, err));
  }
  await client.shutdown().catch(() => undefined);
}

export function dropKeyspace(contactPoints: string, keyspace: string): Promise<void> {
  return dropKeyspaces(contactPoints, [keyspace]);
}
