/**
 * Cassandra settings: what the CASSANDRA_* variables say, parsed with the shared parsers
 * (layers/config/parsers.ts) and called by the configuration (layers/config/config.ts) at cold start, so that a
 * malformed one fails the start with a message naming it. A local node or cluster (plain CQL, SimpleStrategy
 * or NetworkTopologyStrategy) or Amazon Keyspaces (TLS on 9142 trusting Amazon's roots, SigV4, keyspace and
 * tables declared in CloudFormation rather than created at run time). The driver options these settings
 * produce are built beside the client (client.ts): this module does not load cassandra-driver.
 *
 *   CASSANDRA_CONTACT_POINTS   host[:port],host[:port]…  (required, unless CASSANDRA_KEYSPACES_REGION is set)
 *   CASSANDRA_LOCAL_DC         datacenter1 (Keyspaces: the region, e.g. eu-west-1)
 *   CASSANDRA_KEYSPACE         digits
 *   CASSANDRA_REPLICATION      SimpleStrategy:1 | NetworkTopologyStrategy:dc1=3[,dc2=3] | SingleRegionStrategy
 *   CASSANDRA_CONSISTENCY      LOCAL_QUORUM (reads and writes)
 *   CASSANDRA_CREATE_SCHEMA    true (false with Keyspaces)
 *   CASSANDRA_TIMEOUT_MS       3000: bound on every store operation, connecting included
 *   CASSANDRA_STATS_FLUSH_MS   0: how long the statistics' counter updates are gathered in memory before one batch
 *                              writes them (0: each prediction's with its record; layers/stats/counter-buffer.ts)
 *   CASSANDRA_TLS              false (true with Keyspaces)
 *   CASSANDRA_TLS_CA_FILE      PEM bundle to trust instead of the default (Keyspaces: Amazon's roots)
 *   CASSANDRA_USERNAME/_PASSWORD  plain-text auth (e.g. Keyspaces service-specific credentials)
 *   CASSANDRA_KEYSPACES_REGION Amazon Keyspaces in this region: contact point cassandra.<region>.amazonaws.com:9142,
 *                              SigV4 with the Lambda role's credentials unless a username is given
 */

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ConfigError, type Env, readBoolean, readEnum, readInt, readString } from '#config/parsers';

export const CONSISTENCY_LEVELS = ['ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'LOCAL_QUORUM', 'EACH_QUORUM', 'LOCAL_ONE'] as const;
export type ConsistencyName = (typeof CONSISTENCY_LEVELS)[number];

export type Replication =
  | { class: 'SimpleStrategy'; replicationFactor: number }
  | { class: 'NetworkTopologyStrategy'; dataCenters: Record<string, number> }
  | { class: 'SingleRegionStrategy' };

export interface CassandraConfig {
  /** host:port each. */
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  replication: Replication;
  consistency: ConsistencyName;
  /** Create keyspace and tables at start (IF NOT EXISTS). Off for Keyspaces, where CloudFormation owns them. */
  createSchema: boolean;
  /** Every store operation (connecting included) answers within this many milliseconds, or fails with a 503. */
  timeoutMs: number;
  /**
   * Width of a time bucket (partition) in milliseconds; one day by default. Part of the data layout: every
   * writer and reader of a keyspace must agree on it, so it is not an environment setting. Tests shrink it.
   */
  bucketMs: number;
  tls: { caPem: string[]; servername: string | undefined } | null;
  auth: { kind: 'sigv4'; region: string } | { kind: 'password'; username: string; password: string } | null;
  /** Set when talking to Amazon Keyspaces. */
  keyspacesRegion: string | null;
  /**
   * Milliseconds the statistics' counter updates wait in memory to be written together (layers/stats/
   * counter-buffer.ts); 0 or absent writes each with the record it counts.
   */
  statsFlushMs?: number;
}

export const DAY_MS = 86_400_000;
const KEYSPACES_PORT = 9142;
const CQL_PORT = 9042;

function parseContactPoints(raw: string, defaultPort: number): string[] {
  const points = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (points.length === 0) throw new ConfigError('CASSANDRA_CONTACT_POINTS is empty: set host:port[,host:port…].');
  return points.map((point) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(point);
    const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
    if (!m || port < 1 || port > 65535) {
      throw new ConfigError(`CASSANDRA_CONTACT_POINTS: ${JSON.stringify(point)} is not host or host:port.`);
    }
    return `${m[1]}:${port}`;
  });
}

export function parseReplication(raw: string): Replication {
  const [strategy, rest = ''] = raw.split(':', 2).map((s) => s.trim()) as [string, string?];
  const fail = (why: string): never => {
    throw new ConfigError(
      `CASSANDRA_REPLICATION=${JSON.stringify(raw)}: ${why} (expected SimpleStrategy:1, NetworkTopologyStrategy:dc1=3[,dc2=3] or SingleRegionStrategy).`,
    );
  };
  const factor = (s: string): number => {
    const n = Number(s);
    return Number.isInteger(n) && n >= 1 && n <= 12 ? n : fail(`replication factor ${JSON.stringify(s)} is not 1..12`);
  };
  switch (strategy) {
    case 'SimpleStrategy':
      return { class: 'SimpleStrategy', replicationFactor: factor(rest || '1') };
    case 'NetworkTopologyStrategy': {
      const dataCenters: Record<string, number> = {};
      for (const part of rest
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')) {
        const [dc, rf] = part.split('=').map((s) => s.trim());
        if (!dc || rf === undefined || !/^[A-Za-z0-9_-]+$/.test(dc)) fail(`${JSON.stringify(part)} is not dc=factor`);
        dataCenters[dc as string] = factor(rf as string);
      }
      if (Object.keys(dataCenters).length === 0) fail('no data centre given');
      return { class: 'NetworkTopologyStrategy', dataCenters };
    }
    case 'SingleRegionStrategy':
      return { class: 'SingleRegionStrategy' };
    default:
      return fail(`unknown strategy ${JSON.stringify(strategy)}`);
  }
}

/** The CQL map literal of a replication setting (names were validated, so they can be inlined). */
export function replicationCql(replication: Replication): string {
  switch (replication.class) {
    case 'SimpleStrategy':
      return `{'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}}`;
    case 'NetworkTopologyStrategy':
      return `{'class': 'NetworkTopologyStrategy', ${Object.entries(replication.dataCenters)
        .map(([dc, rf]) => `'${dc}': ${rf}`)
        .join(', ')}}`;
    case 'SingleRegionStrategy':
      return `{'class': 'SingleRegionStrategy'}`;
  }
}

/**
 * Amazon's roots as Node ships them: Amazon Root CA 1-4 and Starfield Services Root CA G2, which cross-signs
 * them (the Starfield Class 2 root of Keyspaces' older chain is no longer in Node's bundle; the cross-signed
 * chain does not need it). Taken from Node's built-in bundle so that nothing has to be downloaded or
 * committed; pinning to these rather than every public root narrows whom a Keyspaces connection trusts.
 */
export function amazonRootCertificates(): string[] {
  return rootCertificates.filter((pem) => {
    const subject = new X509Certificate(pem).subject;
    return /\bO=Amazon\b/.test(subject) || /Starfield (Class 2|Services Root)/.test(subject);
  });
}

export function readCassandraConfig(env: Env): CassandraConfig {
  const region = readString(env, 'CASSANDRA_KEYSPACES_REGION') ?? null;
  if (region !== null && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new ConfigError(`CASSANDRA_KEYSPACES_REGION=${JSON.stringify(region)} is not an AWS region (e.g. eu-west-1).`);
  }
  const rawPoints = readString(env, 'CASSANDRA_CONTACT_POINTS') ?? (region ? `cassandra.${region}.amazonaws.com:${KEYSPACES_PORT}` : '');
  if (rawPoints === '') {
    throw new ConfigError('CASSANDRA_CONTACT_POINTS is not set: set host:port[,host:port…] (e.g. 127.0.0.1:9042).');
  }
  const contactPoints = parseContactPoints(rawPoints, region ? KEYSPACES_PORT : CQL_PORT);

  const keyspace = readString(env, 'CASSANDRA_KEYSPACE') ?? 'digits';
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) {
    throw new ConfigError(
      `CASSANDRA_KEYSPACE=${JSON.stringify(keyspace)} must be lower-case letters, digits and _ (at most 48), starting with a letter.`,
    );
  }

  const consistency = readEnum<ConsistencyName>(env, 'CASSANDRA_CONSISTENCY', CONSISTENCY_LEVELS, 'LOCAL_QUORUM');
  if (region && consistency !== 'LOCAL_QUORUM') {
    // Keyspaces accepts only LOCAL_QUORUM for writes; one level serves both here.
    throw new ConfigError(`CASSANDRA_CONSISTENCY=${consistency}: Amazon Keyspaces writes need LOCAL_QUORUM.`);
  }

  const timeoutMs = readInt(env, 'CASSANDRA_TIMEOUT_MS', 3000, { min: 100, max: 120_000, unit: 'milliseconds' });
  const statsFlushMs = readInt(env, 'CASSANDRA_STATS_FLUSH_MS', 0, { min: 0, max: 60_000, unit: 'milliseconds' });

  const tlsOn = readBoolean(env, 'CASSANDRA_TLS', region !== null);
  let tls: CassandraConfig['tls'] = null;
  if (tlsOn) {
    let caPem: string[];
    const caFile = readString(env, 'CASSANDRA_TLS_CA_FILE');
    if (caFile) {
      try {
        caPem = [readFileSync(caFile, 'utf8')];
      } catch (err: unknown) {
        throw new ConfigError(`CASSANDRA_TLS_CA_FILE=${JSON.stringify(caFile)} cannot be read: ${(err as Error).message}.`);
      }
    } else {
      caPem = region ? amazonRootCertificates() : [...rootCertificates];
    }
    const host = contactPoints[0]?.replace(/:\d+$/, '');
    tls = { caPem, servername: host && !/^[\d.]+$|^\[/.test(host) ? host : undefined };
  }

  const username = readString(env, 'CASSANDRA_USERNAME');
  let authSetting: CassandraConfig['auth'] = null;
  if (username) {
    // The password is taken as it is: blanks may be part of it.
    const password = env.CASSANDRA_PASSWORD;
    if (!password) throw new ConfigError('CASSANDRA_USERNAME is set but CASSANDRA_PASSWORD is not: set both.');
    authSetting = { kind: 'password', username, password };
  } else if (region) {
    authSetting = { kind: 'sigv4', region };
  }

  const replication = parseReplication(readString(env, 'CASSANDRA_REPLICATION') ?? (region ? 'SingleRegionStrategy' : 'SimpleStrategy:1'));

  return {
    contactPoints,
    localDataCenter: readString(env, 'CASSANDRA_LOCAL_DC') ?? region ?? 'datacenter1',
    keyspace,
    replication,
    consistency,
    createSchema: readBoolean(env, 'CASSANDRA_CREATE_SCHEMA', region === null),
    timeoutMs,
    bucketMs: DAY_MS,
    tls,
    auth: authSetting,
    keyspacesRegion: region,
    statsFlushMs,
  };
}
