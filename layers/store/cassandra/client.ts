/**
 * The Cassandra client: the cassandra-driver options a configuration produces, and one long-lived Client per
 * process and configuration, shared by every store built from it, connected (and the schema created where
 * allowed) once, and shut down when its last store closes.
 */
import { auth, Client, type ClientOptions, policies, types } from 'cassandra-driver';
import type { CassandraConfig, ConsistencyName } from './config';
import { GuardedSigV4AuthProvider } from './keyspaces-sigv4-auth';
import { addMissingColumns, schemaStatements } from './schema';

/**
 * SigV4 for Keyspaces. Not the plugin's provider as it stands: without AWS credentials it leaves an unhandled
 * rejection, which ends a Node process (unhandled rejections throw since Node 15) (see keyspaces-sigv4-auth.ts); the guarded one reports it to the driver.
 * The plugin is still loaded only here, when used: it pulls in aws-sdk v2, which costs cold-start time.
 */
function sigV4AuthProvider(region: string): auth.AuthProvider {
  return new GuardedSigV4AuthProvider(region);
}

/** The cassandra-driver options a configuration produces. Pure apart from loading the SigV4 plugin. */
export function buildClientOptions(config: CassandraConfig): ClientOptions {
  const options: ClientOptions = {
    contactPoints: config.contactPoints,
    localDataCenter: config.localDataCenter,
    queryOptions: {
      consistency: types.consistencies[toDriverConsistencyKey(config.consistency)],
      prepare: true,
      // Every statement of the store is idempotent (an insert of a fixed id, or a read): the retry policy may
      // replay it on another host after a socket error or client-side timeout.
      isIdempotent: true,
    },
    socketOptions: {
      connectTimeout: config.timeoutMs,
      // A little below the operation bound, so that one retry on another host can still fit inside it.
      readTimeout: Math.max(100, Math.floor(config.timeoutMs * 0.8)),
      keepAlive: true,
      tcpNoDelay: true,
    },
    policies: {
      // The default policy retries at most once: on another host after an unavailable error, a socket error
      // or a client-side timeout of an idempotent statement; a read timeout once when the data was missing.
      retry: new policies.retry.RetryPolicy(),
      // A node that comes back is used again within about two seconds, without restarting the service
      // (measured: with a 10 s ceiling, writes resumed 6 s after the node answered again).
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(250, 2_000, false),
    },
    pooling: { warmup: true, heartBeatInterval: 10_000 },
    protocolOptions: { maxSchemaAgreementWaitSeconds: 10 },
  };
  if (config.tls) {
    options.sslOptions = {
      ca: config.tls.caPem,
      rejectUnauthorized: true,
      ...(config.tls.servername !== undefined ? { servername: config.tls.servername, host: config.tls.servername } : {}),
    };
  }
  if (config.auth?.kind === 'password') {
    options.authProvider = new auth.PlainTextAuthProvider(config.auth.username, config.auth.password);
  } else if (config.auth?.kind === 'sigv4') {
    options.authProvider = sigV4AuthProvider(config.auth.region);
  }
  return options;
}

function toDriverConsistencyKey(name: ConsistencyName): keyof typeof types.consistencies {
  const keys: Record<ConsistencyName, keyof typeof types.consistencies> = {
    ONE: 'one',
    TWO: 'two',
    THREE: 'three',
    QUORUM: 'quorum',
    ALL: 'all',
    LOCAL_QUORUM: 'localQuorum',
    EACH_QUORUM: 'eachQuorum',
    LOCAL_ONE: 'localOne',
  };
  return keys[name];
}

export interface SharedClient {
  client: Client;
  ready: Promise<void>;
  users: number;
  /** When the driver last reported a host down (Date.now()), or 0. */
  lastHostDownAt: number;
}

const clients = new Map<string, SharedClient>();

function clientKey(config: CassandraConfig): string {
  return JSON.stringify([
    config.contactPoints,
    config.localDataCenter,
    config.keyspace,
    config.consistency,
    config.timeoutMs,
    config.keyspacesRegion,
    config.auth?.kind ?? null,
  ]);
}

/** A lease on the process's client for this configuration, created (and connecting) if there is none. */
export function acquireClient(config: CassandraConfig, options: ClientOptions): { key: string; shared: SharedClient } {
  const key = clientKey(config);
  let shared = clients.get(key);
  if (!shared) {
    const client = new Client(options);
    const created: SharedClient = { client, ready: connectAndPrepareSchema(client, config), users: 0, lastHostDownAt: 0 };
    client.on('hostDown', () => {
      created.lastHostDownAt = Date.now();
    });
    shared = created;
    clients.set(key, shared);
  }
  shared.users += 1;
  return { key, shared };
}

/** Forgets the client under `key` if it is still `shared`, so that the next lease builds a fresh one. */
export function forgetClient(key: string, shared: SharedClient): void {
  if (clients.get(key) === shared) clients.delete(key);
}

async function connectAndPrepareSchema(client: Client, config: CassandraConfig): Promise<void> {
  await client.connect();
  if (config.createSchema) {
    // DDL cannot be bound; the names in it were validated by readCassandraConfig.
    for (const statement of schemaStatements(config)) await client.execute(statement);
    await addMissingColumns(client, config.keyspace);
  }
}

/**
 * Shuts a client down once its connect has settled. cassandra-driver ignores a shutdown() that arrives while
 * it is still connecting, and the connection it then opens keeps a heartbeat timer running for ever.
 */
export async function shutdownWhenSettled(shared: SharedClient): Promise<void> {
  await shared.ready.catch(() => {});
  await shared.client.shutdown().catch(() => {});
}
