/**
 * The prod stage's CloudFormation template without AWS: `serverless package --stage prod` run by the project's own
 * framework, with the account lookup and the image push answered by scripts/cloud/packaging-account.cjs (a stubbed
 * account, for packaging only; README, "The prod template, checked without AWS"). Everything else is the framework's
 * real compile. Writes the package directory (cloudformation-template-update-stack.json and the framework's state)
 * and returns the template.
 *
 *   npm run cloud:template [-- --out DIR]       default dist/cloud/prod; prints the template's path
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { ROOT } from '../../tools/root';

const execFileAsync = promisify(execFile);

export const PACKAGING_ACCOUNT_ID = '123456789012';
export const PROD_REGION = 'eu-west-1';

export interface CloudFormationTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown }>;
  Outputs?: Record<string, unknown>;
}

export interface PackagedTemplate {
  directory: string;
  templateFile: string;
  template: CloudFormationTemplate;
}

/**
 * Packages the prod stage into `outDir` (emptied first). AWS_* variables are dropped, so no credentials or profile
 * of the caller's can reach AWS; deployer settings that serverless.yml reads for prod keep their defaults.
 */
export async function packageProd(outDir: string, extraEnv: Record<string, string> = {}): Promise<PackagedTemplate> {
  const directory = resolve(outDir);
  await rm(directory, { recursive: true, force: true });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('AWS_')) env[key] = value;
  }
  for (const name of ['CASSANDRA_KEYSPACE', 'PAGE_BUCKET', 'PAGE_ORIGIN', 'LOG_LEVEL', 'UPLOAD_URL_TTL_SECONDS', 'RETENTION_DAYS']) {
    delete env[name];
  }
  await execFileAsync(
    process.execPath,
    [
      '--require',
      join(ROOT, 'scripts/cloud/packaging-account.cjs'),
      join(ROOT, 'node_modules/serverless/bin/serverless.js'),
      'package',
      '--stage',
      'prod',
      '--region',
      PROD_REGION,
      '--package',
      directory,
    ],
    {
      cwd: ROOT,
      env: { ...env, PACKAGING_ACCOUNT_ID, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', ...extraEnv },
      timeout: 120_000,
      maxBuffer: 16 << 20,
    },
  );
  const templateFile = join(directory, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(await readFile(templateFile, 'utf8')) as CloudFormationTemplate;
  return { directory, templateFile, template };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'dist/cloud/prod') } } });
  const packaged = await packageProd(values.out);
  console.log(packaged.templateFile);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
