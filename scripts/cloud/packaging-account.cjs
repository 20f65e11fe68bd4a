/**
 * Preloaded (`node --require`) into the Serverless Framework 3 CLI by scripts/cloud/template.ts, for
 * `serverless package --stage prod` on a machine without AWS: the prod stage's CloudFormation template, produced by
 * the framework's own compile, with two lookups answered here instead of by AWS.
 *
 *   getAccountInfo                 STS GetCallerIdentity: a documentation account id (PACKAGING_ACCOUNT_ID,
 *                                  default 123456789012) in the `aws` partition.
 *   resolveImageUriAndShaFromPath  for `provider.ecr.images.<name>.path`, the framework would find or create the
 *                                  ECR repository, `docker build` the Dockerfile, push it and read the digest from
 *                                  the push. Here: the repository the framework would name
 *                                  (naming.getEcrRepositoryName()) in the account and region above, and a digest
 *                                  given in PACKAGING_IMAGE_DIGEST (the locally built image's, when the caller has
 *                                  one) or a placeholder of zeros. The Dockerfile must exist, as for the real call.
 *
 * Nothing else is replaced: no other AWS call is made by `package`, and any that were would fail for want of
 * credentials (the caller strips AWS_* from the environment). For packaging only; never loaded by deploy.
 */
'use strict';
const { statSync } = require('node:fs');
const path = require('node:path');

const AwsProvider = require(require.resolve('serverless/lib/plugins/aws/provider.js', { paths: [process.cwd()] }));
const accountId = process.env.PACKAGING_ACCOUNT_ID || '123456789012';
const digest = process.env.PACKAGING_IMAGE_DIGEST || `sha256:${'0'.repeat(64)}`;
if (!/^\d{12}$/.test(accountId)) throw new Error(`PACKAGING_ACCOUNT_ID must be 12 digits, got ${accountId}`);
if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`PACKAGING_IMAGE_DIGEST must be sha256:<64 hex>, got ${digest}`);

function replace(name, value) {
  // The framework defines these as memoised lazy properties (memoizee/methods); a plain method takes their place.
  Object.defineProperty(AwsProvider.prototype, name, { value, configurable: true, writable: true });
}

replace('getAccountInfo', async () => ({
  accountId,
  partition: 'aws',
  arn: `arn:aws:iam::${accountId}:user/packaging-only`,
  userId: 'PACKAGINGONLY',
}));
replace('getAccountId', async () => accountId);
replace('resolveImageUriAndShaFromPath', async function ({ imagePath, imageFilename }) {
  const dockerfile = path.resolve(this.serverless.serviceDir, imagePath, imageFilename);
  if (!statSync(dockerfile, { throwIfNoEntry: false })?.isFile()) throw new Error(`no Dockerfile at ${dockerfile}`);
  const repositoryUri = `${accountId}.dkr.ecr.${this.getRegion()}.amazonaws.com/${this.naming.getEcrRepositoryName()}`;
  return { functionImageSha: digest.slice('sha256:'.length), functionImageUri: `${repositoryUri}@${digest}` };
});
