/**
 * Loads the two secrets the service checks callers with (the operator key, the visitor-token signing key),
 * once per container at cold start (layers/runtime.ts caches the promise): from files locally, from SSM
 * Parameter Store SecureStrings in the cloud, in one GetParameters call, decrypted by SSM. The values never
 * pass through the environment, and nothing here logs them.
 */
import { readFile } from 'node:fs/promises';
import type { SSMClientConfig } from '@aws-sdk/client-ssm';
import type { AccessConfig } from '#config/config';
import { type AccessKeys, accessKeysFrom, parseSecret } from './tokens';

/** `ssmOptions` add to the SSM client's configuration (tests point it at a stand-in endpoint). */
export async function loadAccessKeys(config: AccessConfig | undefined, ssmOptions: SSMClientConfig = {}): Promise<AccessKeys> {
  if (config === undefined) {
    throw new Error(
      'No operator key or signing key configured: set OPERATOR_KEY_FILE and VISITOR_SIGNING_KEY_FILE (npm start does), ' +
        'or OPERATOR_KEY_PARAMETER and VISITOR_SIGNING_KEY_PARAMETER (SSM, the cloud stage).',
    );
  }
  if (config.source === 'files') {
    const [operator, signing] = await Promise.all([readFile(config.operatorKeyFile, 'utf8'), readFile(config.signingKeyFile, 'utf8')]);
    return accessKeysFrom(parseSecret(operator, config.operatorKeyFile), parseSecret(signing, config.signingKeyFile));
  }
  // Loaded here only: the local stack and the tests never load the SSM client.
  const { GetParametersCommand, SSMClient } = await import('@aws-sdk/client-ssm');
  const client = new SSMClient({ region: config.region, maxAttempts: 3, ...ssmOptions });
  try {
    const names = [config.operatorKeyParameter, config.signingKeyParameter];
    const answer = await client.send(new GetParametersCommand({ Names: names, WithDecryption: true }));
    const value = (name: string): string => {
      const found = answer.Parameters?.find((parameter) => parameter.Name === name)?.Value;
      if (found === undefined) throw new Error(`SSM parameter ${name} is missing or not readable by this function`);
      return found;
    };
    return accessKeysFrom(
      parseSecret(value(config.operatorKeyParameter), config.operatorKeyParameter),
      parseSecret(value(config.signingKeyParameter), config.signingKeyParameter),
    );
  } finally {
    client.destroy();
  }
}
