/**
 * The guarded Keyspaces SigV4 provider still authenticates the plugin's way when credentials exist: the same opening
 * token, the same signature over the server's nonce, the plugin's error for a challenge without one. (The failure
 * without credentials is specified in cassandra-config.test.ts, through buildClientOptions.) No network.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { auth } from 'cassandra-driver';
import { GuardedSigV4AuthProvider } from '#store/cassandra/keyspaces-sigv4-auth';

const credentials = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: 'session-token-example',
};

function withCredentialsInEnv(t: TestContext): void {
  const saved = { ...process.env };
  t.after(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });
  for (const key of Object.keys(process.env)) if (/^(AWS_|AMAZON_)/.test(key)) delete process.env[key];
  Object.assign(process.env, credentials, { AWS_EC2_METADATA_DISABLED: 'true' });
}

function challenge(authenticator: auth.Authenticator, token: Buffer): Promise<{ err: Error | null; answer: Buffer | null }> {
  return new Promise((resolve) =>
    authenticator.evaluateChallenge(token, (err: Error | null, answer: Buffer | null) => resolve({ err, answer })),
  );
}

describe('GuardedSigV4AuthProvider with credentials', () => {
  it('is an AuthProvider the driver accepts, opening with the SigV4 token', async () => {
    const provider = new GuardedSigV4AuthProvider('eu-west-1');
    assert.ok(provider instanceof (auth as unknown as { AuthProvider: abstract new () => object }).AuthProvider);
    const initial = await new Promise<Buffer>((resolve, reject) =>
      provider.newAuthenticator('h:9142', 'x').initialResponse((err: Error | null, token: Buffer) => (err ? reject(err) : resolve(token))),
    );
    assert.equal(initial.toString('utf8'), 'SigV4\0\0');
  });

  it('answers the nonce with the plugin’s signature over the environment’s credentials', async (t) => {
    withCredentialsInEnv(t);
    const nonce = '91703fdc2ef562e19fbdab0f58e42fe5';

    const { err, answer } = await challenge(
      new GuardedSigV4AuthProvider('eu-west-1').newAuthenticator('h:9142', 'x'),
      Buffer.from(`nonce=${nonce}`),
    );

    assert.equal(err, null);
    const text = answer?.toString('utf8') ?? '';
    const m = /^signature=([0-9a-f]{64}),access_key=AKIDEXAMPLE,amzdate=([^,]+),session_token=session-token-example$/.exec(text);
    assert.ok(m, `a SigV4 answer: ${text}`);
    const { computeSigV4SignatureCassandraRequest } = require('aws-sigv4-auth-cassandra-plugin/lib/sigv4-auth-signature') as {
      computeSigV4SignatureCassandraRequest(o: Record<string, unknown>): string;
    };
    const expected = computeSigV4SignatureCassandraRequest({
      region: 'eu-west-1',
      nonce,
      date: new Date(m[2] as string),
      accessKeyId: credentials.AWS_ACCESS_KEY_ID,
      secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY,
      sessionToken: credentials.AWS_SESSION_TOKEN,
    });
    assert.equal(text, expected);
  });

  it('passes on the plugin’s error for a challenge without a nonce', async (t) => {
    withCredentialsInEnv(t);
    const { err } = await challenge(
      new GuardedSigV4AuthProvider('eu-west-1').newAuthenticator('h:9142', 'x'),
      Buffer.from('no challenge here'),
    );
    assert.match(err?.message ?? '', /SIGV4_MISSING_NONCE/);
  });
});
