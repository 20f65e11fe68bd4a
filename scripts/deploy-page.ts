/**
 * `npm run page:deploy -- --stage prod`: after `serverless deploy`, uploads the page to the stage's page
 * bucket with a config.json naming the stage's HTTP API. Both come from the CloudFormation stack's outputs
 * (PageBucketName from serverless.yml's resources, HttpApiUrl from the framework), so nothing is typed twice.
 * Needs `npm run build` first (the page's compiled module) and AWS credentials in the environment.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { publishPage } from './page-publish';

function option(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = args[at + 1];
  if (!value || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const stage = option(args, 'stage', 'prod');
  const region = option(args, 'region', process.env.AWS_REGION ?? 'eu-west-1');
  const stackName = option(args, 'stack', `digit-service-${stage}`);

  const cloudFormation = new CloudFormationClient({ region });
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const bucket = outputs.get('PageBucketName');
  const apiUrl = outputs.get('HttpApiUrl');
  if (!bucket || !apiUrl)
    throw new Error(
      `stack ${stackName} has no PageBucketName or HttpApiUrl output: deploy it first (npx serverless deploy --stage ${stage})`,
    );

  // The presigned URLs of kept pictures name the uploads bucket's regional endpoint (virtual-hosted style).
  const uploads = outputs.get('UploadsBucketName');
  const imageOrigin = uploads ? `https://${uploads}.s3.${region}.amazonaws.com` : undefined;
  const keys = await publishPage(new S3Client({ region }), bucket, { apiUrl, ...(imageOrigin ? { imageOrigin } : {}) });
  process.stdout.write(
    `Published ${keys.length} files to s3://${bucket} (API ${apiUrl}).\nPage: ${outputs.get('PageUrl') ?? '(see the PageUrl output)'}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`deploy-page failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
