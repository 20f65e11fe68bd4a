/**
 * SigV4 authentication for Amazon Keyspaces that fails the way any other connection failure does.
 *
 * aws-sigv4-auth-cassandra-plugin 1.0.5 resolves the AWS credentials in evaluateChallenge with
 * `this.chain.resolvePromise().then(sign)` and no rejection handler (lib/sigv4-auth-provider.js:157-167). When no
 * credentials can be found, the driver's callback is never called and the rejection is unhandled, which on Node 15 and later
 * ends the process: a missing credential would crash the service instead of answering 503. Here the credentials are
 * resolved first, under our own handler, and a failure reaches the driver's callback as an AuthenticationError; the
 * driver then counts the host as failed to connect (NoHostAvailableError, which the store answers with a 503). Only
 * with credentials in hand is the plugin asked to sign, so the protocol and the signature stay the plugin's.
 *
 * The plugin (and aws-sdk v2 under it) is required only when a Keyspaces client is built: it costs cold-start time.
 */
import { auth, errors } from 'cassandra-driver';

interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | null;
}

/** What the plugin calls on its `chain`: aws-sdk v2's CredentialProviderChain answers with a real promise. */
interface CredentialChain {
  resolvePromise(): PromiseLike<AwsCredentials>;
}

type AuthCallback = (err: Error | null, token?: Buffer | null) => void;

interface SigV4Plugin {
  SigV4AuthProvider: new (opts: { region: string }) => auth.AuthProvider & { chain: CredentialChain; region: string };
  SigV4Authenticator: new (opts: {
    region: string;
    chain: CredentialChain;
  }) => {
    initialResponse(callback: AuthCallback): void;
    evaluateChallenge(challenge: Buffer, callback: AuthCallback): void;
  };
}

/**
 * The driver's base classes. Its typings declare them as interfaces, but the driver checks
 * `authProvider instanceof auth.AuthProvider` at run time, so a provider must extend the real constructor.
 */
const driverAuth = auth as unknown as {
  AuthProvider: abstract new () => auth.AuthProvider;
  Authenticator: new () => auth.Authenticator;
};

function loadPlugin(): SigV4Plugin {
  // aws-sdk v2 prints an end-of-support notice on load; the plugin needs v2, so keep the log clean. Loaded with
  // require, lazily: only a Keyspaces deployment needs the plugin and the v2 SDK it pulls in.
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';
  return require('aws-sigv4-auth-cassandra-plugin') as SigV4Plugin;
}

export function missingCredentialsError(region: string, cause: unknown): errors.AuthenticationError {
  const why = cause instanceof Error ? cause.message : String(cause);
  const err = new errors.AuthenticationError(
    `no AWS credentials for Keyspaces SigV4 in ${region} (${why}): give the function an IAM role, set ` +
      'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or use service-specific credentials through ' +
      'CASSANDRA_USERNAME/CASSANDRA_PASSWORD',
  );
  (err as Error & { cause?: unknown }).cause = cause;
  return err;
}

class GuardedSigV4Authenticator extends driverAuth.Authenticator {
  constructor(
    private readonly plugin: SigV4Plugin,
    private readonly region: string,
    private readonly chain: CredentialChain,
  ) {
    super();
  }

  override initialResponse(callback: AuthCallback): void {
    // The opening "SigV4" token needs no credentials; the plugin's own answer is synchronous and cannot fail.
    new this.plugin.SigV4Authenticator({ region: this.region, chain: this.chain }).initialResponse(callback);
  }

  override evaluateChallenge(challenge: Buffer, callback: AuthCallback): void {
    // The driver's callback runs on the next tick, outside any promise: if the driver throws while sending the next
    // auth message, that is its own exception, not a rejection swallowed here or left unhandled.
    const reply: AuthCallback = (err, token = null) => process.nextTick(callback, err, token);
    Promise.resolve(this.chain.resolvePromise())
      .then(
        (credentials) => {
          // The plugin signs inside `resolvePromise().then(...)` and drops that promise. A thenable that calls back
          // at once makes the signing run here, in this handler, so a throw from it reaches the catch below.
          const resolved: CredentialChain = {
            // biome-ignore lint/suspicious/noThenProperty: a thenable is the point: it runs the plugin's callback synchronously.
            resolvePromise: () => ({ then: (onResolved) => onResolved?.(credentials) }) as PromiseLike<AwsCredentials>,
          };
          new this.plugin.SigV4Authenticator({ region: this.region, chain: resolved }).evaluateChallenge(challenge, reply);
        },
        (err: unknown) => reply(missingCredentialsError(this.region, err)),
      )
      .catch((err: unknown) => reply(err instanceof Error ? err : new Error(String(err))));
  }
}

/** The plugin's provider (its region and its credential chain), handing out authenticators that cannot leak. */
export class GuardedSigV4AuthProvider extends driverAuth.AuthProvider {
  private readonly plugin: SigV4Plugin;
  private readonly inner: InstanceType<SigV4Plugin['SigV4AuthProvider']>;

  constructor(region: string) {
    super();
    this.plugin = loadPlugin();
    this.inner = new this.plugin.SigV4AuthProvider({ region });
  }

  override newAuthenticator(_endpoint: string, _name: string): auth.Authenticator {
    return new GuardedSigV4Authenticator(this.plugin, this.inner.region, this.inner.chain);
  }
}
