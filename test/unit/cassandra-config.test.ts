/**
 * Cassandra configuration: what the environment turns into (local node, cluster, Amazon Keyspaces), the
 * cassandra-driver options each produces, the messages a bad variable gets, and how driver errors map to HTTP.
 * No network: building a Client's options and a store never connects.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { auth, errors, policies, types } from 'cassandra-driver';
import { ConfigError as CassandraConfigError } from '#config/parsers';
import { HttpError, ServiceUnavailableError } from '#errors/errors';
import { toStoreError } from '#store/cassandra/availability';
import { buildClientOptions } from '#store/cassandra/client';
import { amazonRootCertificates, DAY_MS, parseReplication, readCassandraConfig, replicationCql } from '#store/cassandra/config';
import { GuardedSigV4AuthProvider } from '#store/cassandra/keyspaces-sigv4-auth';
import { schemaStatements, TABLES } from '#store/cassandra/schema';
import { createCassandraStore } from '#store/cassandra/store';
import { KEYSPACES_RESOURCES_PATH, renderKeyspacesResources } from '../../scripts/cassandra/keyspaces-resources';

describe('readCassandraConfig for a local node', () => {
  it('defaults to datacenter1, keyspace digits, SimpleStrategy RF 1, LOCAL_QUORUM, schema created, no TLS, no auth', () => {
    const config = readCassandraConfig({ CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042' });
    assert.deepEqual(config, {
      contactPoints: ['127.0.0.1:9042'],
      localDataCenter: 'datacenter1',
      keyspace: 'digits',
      replication: { class: 'SimpleStrategy', replicationFactor: 1 },
      consistency: 'LOCAL_QUORUM',
      createSchema: true,
      timeoutMs: 3000,
      bucketMs: DAY_MS,
      tls: null,
      auth: null,
      keyspacesRegion: null,
      statsFlushMs: 0,
    });
  });

  it('reads a three-node cluster with NetworkTopologyStrategy and its own settings', () => {
    const config = readCassandraConfig({
      CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042, 127.0.0.2, 127.0.0.3:9043',
      CASSANDRA_LOCAL_DC: 'dc1',
      CASSANDRA_KEYSPACE: 'digits_test',
      CASSANDRA_REPLICATION: 'NetworkTopologyStrategy:dc1=3,dc2=2',
      CASSANDRA_CONSISTENCY: 'local_one',
      CASSANDRA_CREATE_SCHEMA: 'false',
      CASSANDRA_TIMEOUT_MS: '1500',
      CASSANDRA_STATS_FLUSH_MS: '1000',
    });
    assert.deepEqual(config.contactPoints, ['127.0.0.1:9042', '127.0.0.2:9042', '127.0.0.3:9043']);
    assert.equal(config.localDataCenter, 'dc1');
    assert.equal(config.keyspace, 'digits_test');
    assert.deepEqual(config.replication, { class: 'NetworkTopologyStrategy', dataCenters: { dc1: 3, dc2: 2 } });
    assert.equal(config.consistency, 'LOCAL_ONE');
    assert.equal(config.createSchema, false);
    assert.equal(config.timeoutMs, 1500);
    assert.equal(config.statsFlushMs, 1000);
  });

  it('produces driver options with prepared, idempotent LOCAL_QUORUM statements and bounded timeouts', () => {
    const options = buildClientOptions(readCassandraConfig({ CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042', CASSANDRA_TIMEOUT_MS: '2000' }));
    assert.deepEqual(options.contactPoints, ['127.0.0.1:9042']);
    assert.equal(options.localDataCenter, 'datacenter1');
    assert.equal(options.queryOptions?.consistency, types.consistencies.localQuorum);
    assert.equal(options.queryOptions?.prepare, true);
    assert.equal(options.queryOptions?.isIdempotent, true);
    assert.equal(options.socketOptions?.connectTimeout, 2000);
    const readTimeout = options.socketOptions?.readTimeout ?? Infinity;
    assert.ok(readTimeout > 0 && readTimeout < 2000, `read timeout ${readTimeout} leaves room for one retry within 2000 ms`);
    assert.ok(options.policies?.retry instanceof policies.retry.RetryPolicy);
    assert.ok(options.policies?.reconnection instanceof policies.reconnection.ExponentialReconnectionPolicy);
    assert.equal(options.sslOptions, undefined);
    assert.equal(options.authProvider, undefined);
  });
});

describe('readCassandraConfig for Amazon Keyspaces', () => {
  const keyspacesEnv = { CASSANDRA_KEYSPACES_REGION: 'eu-west-1' };

  it('derives the regional endpoint on 9142, TLS, SigV4, LOCAL_QUORUM, no schema creation', () => {
    const config = readCassandraConfig(keyspacesEnv);
    assert.deepEqual(config.contactPoints, ['cassandra.eu-west-1.amazonaws.com:9142']);
    assert.equal(config.localDataCenter, 'eu-west-1');
    assert.equal(config.consistency, 'LOCAL_QUORUM');
    assert.equal(config.createSchema, false);
    assert.deepEqual(config.replication, { class: 'SingleRegionStrategy' });
    assert.deepEqual(config.auth, { kind: 'sigv4', region: 'eu-west-1' });
    assert.equal(config.tls?.servername, 'cassandra.eu-west-1.amazonaws.com');
  });

  it('produces TLS options trusting only Amazon roots, checking the host name, with the SigV4 auth provider', () => {
    const options = buildClientOptions(readCassandraConfig(keyspacesEnv));
    const tls = options.sslOptions;
    assert.ok(tls, 'TLS is on');
    assert.equal(tls.rejectUnauthorized, true);
    assert.equal(tls.servername, 'cassandra.eu-west-1.amazonaws.com');
    const ca = tls.ca as string[];
    assert.ok(ca.length >= 2, 'Amazon Root CA and its Starfield cross-signer are present');
    const subjects = ca.map((pem) => new X509Certificate(pem).subject);
    assert.ok(subjects.some((s) => s.includes('CN=Amazon Root CA 1')));
    assert.ok(
      subjects.every((s) => /O=Amazon|Starfield/.test(s)),
      `only Amazon/Starfield roots: ${subjects.join('; ')}`,
    );
    assert.ok(options.authProvider instanceof GuardedSigV4AuthProvider);
  });

  it('answers the driver with an AuthenticationError, and leaves nothing unhandled, when no AWS credentials exist', async (t) => {
    // Arrange: no credentials anywhere the SDK looks, and no wait on the instance metadata endpoint.
    const saved = { ...process.env };
    t.after(() => {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    });
    for (const key of Object.keys(process.env)) if (/^(AWS_|AMAZON_)/.test(key)) delete process.env[key];
    Object.assign(process.env, {
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws/credentials',
      AWS_CONFIG_FILE: '/nonexistent/aws/config',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    const escaped: unknown[] = [];
    const onEscape = (err: unknown): void => void escaped.push(err);
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
    t.after(() => {
      process.off('unhandledRejection', onEscape);
      process.off('uncaughtException', onEscape);
    });
    const provider = buildClientOptions(readCassandraConfig(keyspacesEnv)).authProvider;
    assert.ok(provider);

    // Act: the calls cassandra-driver's Connection makes (startAuthenticating, then authenticate on a challenge).
    const authenticator = provider.newAuthenticator(
      'cassandra.eu-west-1.amazonaws.com:9142',
      'com.amazonaws.cassandra.auth.SigV4Authenticator',
    );
    const initial = await new Promise<Buffer>((resolve, reject) =>
      authenticator.initialResponse((err: Error | null, token: Buffer) => (err ? reject(err) : resolve(token))),
    );
    const answer = await Promise.race([
      new Promise<unknown>((resolve) =>
        authenticator.evaluateChallenge(Buffer.from('nonce=0123456789abcdef'), (err: Error | null) => resolve(err)),
      ),
      new Promise<string>((resolve) => setTimeout(resolve, 5_000, 'the callback was never called')),
    ]);
    // Let a rejection the authenticator dropped be reported before looking.
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assert
    assert.equal(initial.toString('utf8'), 'SigV4\0\0');
    assert.ok(answer instanceof errors.AuthenticationError, `the driver is told, with an Error: got ${String(answer)}`);
    assert.match(answer.message, /no AWS credentials for Keyspaces SigV4 in eu-west-1/);
    assert.deepEqual(escaped, []);
  });

  it('uses service-specific credentials instead of SigV4 when a username is given', () => {
    const options = buildClientOptions(
      readCassandraConfig({ ...keyspacesEnv, CASSANDRA_USERNAME: 'svc-user-at-123', CASSANDRA_PASSWORD: 'secret' }),
    );
    assert.ok(options.authProvider instanceof auth.PlainTextAuthProvider);
  });

  it('refuses a consistency Keyspaces does not take for writes', () => {
    assert.throws(() => readCassandraConfig({ ...keyspacesEnv, CASSANDRA_CONSISTENCY: 'ONE' }), /CASSANDRA_CONSISTENCY=ONE.*LOCAL_QUORUM/);
  });

  it('finds Amazon Root CA 1 in Node’s own certificate bundle', () => {
    assert.ok(amazonRootCertificates().some((pem) => new X509Certificate(pem).subject.includes('CN=Amazon Root CA 1')));
  });
});

describe('readCassandraConfig rejects malformed settings, naming the variable', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /CASSANDRA_CONTACT_POINTS is not set/],
    [{ CASSANDRA_CONTACT_POINTS: ' , ' }, /CASSANDRA_CONTACT_POINTS is empty/],
    [{ CASSANDRA_CONTACT_POINTS: '127.0.0.1:99999' }, /CASSANDRA_CONTACT_POINTS: "127.0.0.1:99999"/],
    [{ CASSANDRA_CONTACT_POINTS: 'http://db:9042' }, /CASSANDRA_CONTACT_POINTS/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_KEYSPACE: 'Digits; DROP' }, /CASSANDRA_KEYSPACE/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_CONSISTENCY: 'SOME' }, /CASSANDRA_CONSISTENCY="SOME"/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_TIMEOUT_MS: '2s' }, /CASSANDRA_TIMEOUT_MS="2s"/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_STATS_FLUSH_MS: '-1' }, /CASSANDRA_STATS_FLUSH_MS/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_CREATE_SCHEMA: 'maybe' }, /CASSANDRA_CREATE_SCHEMA="maybe"/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_REPLICATION: 'SimpleStrategy:0' }, /CASSANDRA_REPLICATION/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_REPLICATION: "NetworkTopologyStrategy:dc'1=3" }, /CASSANDRA_REPLICATION/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_REPLICATION: 'EverywhereStrategy' }, /CASSANDRA_REPLICATION/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_TLS: 'true', CASSANDRA_TLS_CA_FILE: '/nonexistent/ca.pem' }, /CASSANDRA_TLS_CA_FILE/],
    [{ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_USERNAME: 'u' }, /CASSANDRA_PASSWORD/],
    [{ CASSANDRA_KEYSPACES_REGION: 'Frankfurt' }, /CASSANDRA_KEYSPACES_REGION/],
  ];
  for (const [env, message] of cases) {
    it(`${JSON.stringify(env)} → ${message.source}`, () => {
      assert.throws(
        () => readCassandraConfig(env),
        (err: unknown) => err instanceof CassandraConfigError && message.test(err.message),
      );
    });
  }
});

describe('replication settings', () => {
  it('renders each strategy as the CQL map Cassandra expects', () => {
    assert.equal(replicationCql(parseReplication('SimpleStrategy:1')), "{'class': 'SimpleStrategy', 'replication_factor': 1}");
    assert.equal(
      replicationCql(parseReplication('NetworkTopologyStrategy:dc1=3,dc2=1')),
      "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 1}",
    );
    assert.equal(replicationCql(parseReplication('SingleRegionStrategy')), "{'class': 'SingleRegionStrategy'}");
  });
});

describe('schema', () => {
  it('creates the keyspace and one table per query, newest first, without secondary indexes', () => {
    const ddl = schemaStatements({ keyspace: 'digits', replication: { class: 'SimpleStrategy', replicationFactor: 1 } }).join('\n');
    assert.match(ddl, /CREATE KEYSPACE IF NOT EXISTS digits WITH replication = \{'class': 'SimpleStrategy', 'replication_factor': 1\}/);
    assert.match(
      ddl,
      /digits\.predictions_by_time[\s\S]*PRIMARY KEY \(\(bucket\), created_at, id\)[\s\S]*CLUSTERING ORDER BY \(created_at DESC, id DESC\)/,
    );
    assert.match(
      ddl,
      /digits\.predictions_by_digit[\s\S]*PRIMARY KEY \(\(digit, bucket\), created_at, id\)[\s\S]*CLUSTERING ORDER BY \(created_at DESC, id DESC\)/,
    );
    assert.match(
      ddl,
      /digits\.predictions_by_visitor \([\s\S]*PRIMARY KEY \(\(visitor_id, bucket\), created_at, id\)[\s\S]*CLUSTERING ORDER BY \(created_at DESC, id DESC\)/,
    );
    assert.match(
      ddl,
      /digits\.predictions_by_visitor_digit[\s\S]*PRIMARY KEY \(\(visitor_id, digit, bucket\), created_at, id\)[\s\S]*CLUSTERING ORDER BY \(created_at DESC, id DESC\)/,
    );
    assert.match(
      ddl,
      /digits\.predictions_by_visitor_labelled \(labelled boolean[\s\S]*PRIMARY KEY \(\(visitor_id, labelled, bucket\), created_at, id\)[\s\S]*CLUSTERING ORDER BY \(created_at DESC, id DESC\)/,
    );
    assert.match(ddl, /digits\.predictions_by_id \([^;]*PRIMARY KEY \(\(id\)\)\)$/m);
    assert.match(ddl, /digits\.prediction_images \(image_key text, id text, PRIMARY KEY \(\(image_key\), id\)\)/);
    assert.doesNotMatch(ddl, /INDEX|ALLOW FILTERING/i);
  });

  it('declares the same tables for Amazon Keyspaces in resources/keyspaces.yml (regenerate it after a schema change)', () => {
    const committed = readFileSync(KEYSPACES_RESOURCES_PATH, 'utf8');
    assert.equal(committed, renderKeyspacesResources(), 'run: npx tsx scripts/cassandra/keyspaces-resources.ts');
    assert.match(committed, /Type: AWS::Cassandra::Keyspace[\s\S]*ReplicationStrategy: SINGLE_REGION/);
    assert.equal(committed.match(/Type: AWS::Cassandra::Table/g)?.length, TABLES.length);
  });
});

describe('CassandraStore errors without a cluster', () => {
  it('maps "cannot answer now" driver errors to a 503 with Retry-After, and leaves others alone', () => {
    const noHost = toStoreError(new errors.NoHostAvailableError({}));
    assert.ok(noHost instanceof ServiceUnavailableError);
    assert.equal(noHost.statusCode, 503);
    assert.ok(Number(noHost.headers['Retry-After']) > 0);

    const timeout = toStoreError(new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'timed out'));
    assert.ok(timeout instanceof ServiceUnavailableError);

    const syntax = new errors.ResponseError(types.responseErrorCodes.syntaxError, 'bad CQL');
    assert.equal(toStoreError(syntax), syntax);
  });

  it('rejects a cursor it did not issue with a 400 before talking to the cluster', async () => {
    const store = createCassandraStore(readCassandraConfig({ CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' }));
    try {
      for (const cursor of [
        '%%%',
        Buffer.from('{"v":1,"b":"x","p":null,"d":null}').toString('base64url'),
        Buffer.from('{"v":1,"b":5,"p":"zz","d":null}').toString('base64url'),
      ]) {
        await assert.rejects(store.list({ limit: 5, cursor }), (err: unknown) => err instanceof HttpError && err.statusCode === 400);
      }
      const digitCursor = Buffer.from('{"v":2,"b":5,"p":null,"d":3,"o":null}').toString('base64url');
      await assert.rejects(
        store.list({ limit: 5, cursor: digitCursor }),
        (err: unknown) => err instanceof HttpError && err.statusCode === 400,
      );
      // Everyone's cursor is not a visitor's, and one visitor's is not another's.
      const everyone = Buffer.from('{"v":2,"b":5,"p":null,"d":null,"o":null}').toString('base64url');
      await assert.rejects(
        store.list({ limit: 5, cursor: everyone, visitorId: 'alice_aaaaaaaaaaaaaaaaa' }),
        (err: unknown) => err instanceof HttpError && err.statusCode === 400,
      );
      const someoneElse = Buffer.from('{"v":2,"b":5,"p":null,"d":null,"o":"0123456789abcdef"}').toString('base64url');
      await assert.rejects(
        store.list({ limit: 5, cursor: someoneElse, visitorId: 'alice_aaaaaaaaaaaaaaaaa' }),
        (err: unknown) => err instanceof HttpError && err.statusCode === 400,
      );
    } finally {
      await store.close();
    }
  });
});
