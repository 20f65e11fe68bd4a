/**
 * The prod stage's CloudFormation template, as `serverless package --stage prod` compiles it (scripts/cloud/template.ts:
 * the framework's real compile, the account and the image push stubbed, no AWS): linted by cfn-lint with the
 * Serverless Rules, and held to what the README documents. The functions are image functions of the one ECR image,
 * the role's statements are exactly the IAM table of docs/deploy.md, and the buckets are as "The buckets"
 * describes them: the page public for reading only, the uploads private and encrypted.
 *
 * cfn-lint comes from the project's virtual environment (scripts/cloud/setup-cfn-lint.sh), or CFN_LINT. `npm run test:cloud`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { HANDLERS } from '../../scripts/bundle';
import { type CloudFormationTemplate, PACKAGING_ACCOUNT_ID, PROD_REGION, packageProd } from '../../scripts/cloud/template';
import { ROOT } from '../../tools/root';

const execFileAsync = promisify(execFile);
const CFN_LINT = process.env.CFN_LINT ?? join(ROOT, '.cache/cfn-lint/bin/cfn-lint');

/**
 * Findings of cfn-lint left in place, each for a reason:
 *   W3005   DependsOn on an integration a route already references: the framework's own httpApi output.
 *   WS1000  X-Ray tracing: not used (structured logs and EMF metrics instead); it would need xray:Put* on "*".
 */
const IGNORED_CHECKS = ['W3005', 'WS1000'];

let workDir = '';
let templateFile = '';
let template: CloudFormationTemplate;

before(
  async () => {
    workDir = mkdtempSync(join(tmpdir(), 'digit-prod-template-'));
    ({ templateFile, template } = await packageProd(join(workDir, 'package')));
  },
  { timeout: 180_000 },
);

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

type Resource = CloudFormationTemplate['Resources'][string];

function resource(name: string): Resource {
  const found = template.Resources[name];
  assert.ok(found, `the template has ${name}`);
  return found;
}

function ofType(type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** How render() writes a Ref or GetAtt, as CloudFormation's Fn::Sub does: ${Name}. */
const ref = (name: string): string => `\${${name}}`;

/** An intrinsic function written out as text: Ref and GetAtt as ${Name} and ${Name.Attr}, Join and Sub joined. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [[fn, arg] = []] = Object.entries(value);
    if (fn === 'Ref') return ref(String(arg));
    if (fn === 'Fn::GetAtt' && Array.isArray(arg)) return ref(arg.join('.'));
    if (fn === 'Fn::Sub' && typeof arg === 'string') return arg;
    if (fn === 'Fn::Join' && Array.isArray(arg)) {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map(render).join(separator);
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

function statementRows(statements: Statement[]): string[] {
  return statements.map((s) => {
    assert.equal(s.Effect, 'Allow');
    const actions = ([] as string[]).concat(s.Action);
    const resources = ([] as unknown[]).concat(s.Resource).map(render);
    return `${actions.join(', ')} | ${resources.join(', ')}`;
  });
}

/** The IAM table of docs/deploy.md: one row a statement, backquoted actions | backquoted resources. */
function documentedStatements(): string[] {
  const readme = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
  const start = readme.indexOf('**IAM**');
  assert.ok(start >= 0, 'docs/deploy.md has its **IAM** paragraph');
  const lines = readme.slice(start).split('\n');
  const tableStart = lines.findIndex((line) => line.startsWith('| actions'));
  assert.ok(tableStart > 0, 'the IAM paragraph has a table');
  const rows: string[] = [];
  for (const line of lines.slice(tableStart + 2)) {
    if (!line.startsWith('|')) break;
    const [, actions = '', resources = ''] = line.split('|');
    const code = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
    rows.push(`${code(actions).join(', ')} | ${code(resources).join(', ')}`);
  }
  return rows;
}

describe('the prod template (serverless package --stage prod, no AWS)', () => {
  it('passes cfn-lint with the Serverless Rules, the documented exceptions aside', async () => {
    assert.ok(existsSync(CFN_LINT), `no cfn-lint at ${CFN_LINT}: run bash scripts/cloud/setup-cfn-lint.sh (or set CFN_LINT)`);
    const args = [templateFile, '--append-rules', 'cfn_lint_serverless.rules', '--format', 'parseable', '--regions', PROD_REGION];
    for (const check of IGNORED_CHECKS) args.push('--ignore-checks', check);
    const result = await execFileAsync(CFN_LINT, args, { timeout: 120_000 }).then(
      (ok) => ({ code: 0, out: ok.stdout + ok.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, out: `${err.stdout}${err.stderr}` }),
    );
    assert.equal(result.code, 0, `cfn-lint found:\n${result.out}`);
  });

  it('makes every function an image function of the one ECR image, running its own bundled handler', () => {
    const functions = ofType('AWS::Lambda::Function');
    assert.equal(functions.length, HANDLERS.length);
    const repository = `${PACKAGING_ACCOUNT_ID}.dkr.ecr.${PROD_REGION}.amazonaws.com/serverless-digit-service-prod`;
    const commands: string[] = [];
    for (const [name, fn] of functions) {
      const props = fn.Properties ?? {};
      assert.equal(props.PackageType, 'Image', name);
      assert.equal(props.Runtime, undefined, `${name}: an image function has no runtime`);
      assert.equal(props.Handler, undefined, `${name}: the handler is the image command`);
      assert.match(String((props.Code as { ImageUri?: unknown }).ImageUri), new RegExp(`^${repository}@sha256:[0-9a-f]{64}$`));
      const command = (props.ImageConfig as { Command?: string[] }).Command ?? [];
      assert.equal(command.length, 1, name);
      commands.push(command[0] ?? '');
      assert.deepEqual(props.Architectures, ['x86_64']);
      assert.deepEqual(props.Role, { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] });
    }
    assert.deepEqual(commands.sort(), HANDLERS.map((name) => `functions/${name}.handler`).sort());
  });

  it('gives the functions exactly the IAM statements the README documents, and no other role', () => {
    const roles = ofType('AWS::IAM::Role');
    assert.deepEqual(
      roles.map(([name]) => name),
      ['IamRoleLambdaExecution'],
    );
    const role = resource('IamRoleLambdaExecution').Properties as {
      AssumeRolePolicyDocument: { Statement: Array<{ Principal: unknown; Action: unknown }> };
      Policies: Array<{ PolicyDocument: { Statement: Statement[] } }>;
      ManagedPolicyArns?: unknown;
    };
    assert.deepEqual(role.AssumeRolePolicyDocument.Statement, [
      { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
    ]);
    assert.equal(role.ManagedPolicyArns, undefined, 'no managed policy beside the inline one');
    assert.equal(role.Policies.length, 1);
    const statements = role.Policies[0]?.PolicyDocument.Statement ?? [];
    assert.deepEqual(statementRows(statements), documentedStatements());
    for (const s of statements) {
      assert.ok(
        ([] as unknown[]).concat(s.Resource).every((r) => render(r) !== '*'),
        'no statement on every resource',
      );
      assert.ok(
        ([] as string[]).concat(s.Action).every((a) => !a.includes('*')),
        'no wildcard action',
      );
    }
    assert.equal(ofType('AWS::IAM::Policy').length, 0, 'no policy outside the role');
  });

  it('keeps the uploads bucket private and encrypted, with no bucket policy opening it', () => {
    const uploads = resource('UploadsBucket').Properties ?? {};
    assert.deepEqual(uploads.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    assert.deepEqual(uploads.BucketEncryption, {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    assert.deepEqual(uploads.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    assert.equal(uploads.WebsiteConfiguration, undefined);
    const policies = ofType('AWS::S3::BucketPolicy').map(([, p]) => render(p.Properties?.Bucket));
    assert.ok(!policies.includes(ref('UploadsBucket')), 'no policy on the uploads bucket');
  });

  it('lets anyone read the page bucket website and nothing else, and denies plain HTTP on the deployment bucket', () => {
    const page = resource('PageBucket').Properties ?? {};
    assert.deepEqual(page.WebsiteConfiguration, { IndexDocument: 'index.html', ErrorDocument: 'index.html' });
    assert.deepEqual(page.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    });
    assert.deepEqual(page.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    const policy = (resource('PageBucketPolicy').Properties ?? {}) as { Bucket: unknown; PolicyDocument: { Statement: Statement[] } };
    assert.equal(render(policy.Bucket), ref('PageBucket'));
    assert.deepEqual(
      policy.PolicyDocument.Statement.map((s) => [s.Effect, s.Principal, s.Action, render(s.Resource)]),
      [['Allow', '*', 's3:GetObject', `${ref('PageBucket.Arn')}/*`]],
    );

    const deployment = resource('ServerlessDeploymentBucket').Properties ?? {};
    assert.deepEqual(deployment.BucketEncryption, {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    const deny = (resource('ServerlessDeploymentBucketPolicy').Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument
      .Statement;
    assert.deepEqual(
      deny.map((s) => [s.Effect, s.Action, s.Condition]),
      [['Deny', 's3:*', { Bool: { 'aws:SecureTransport': false } }]],
    );
  });

  it('throttles the HTTP API and logs its requests without client addresses', () => {
    const stage = (resource('HttpApiStage').Properties ?? {}) as {
      DefaultRouteSettings?: { ThrottlingBurstLimit?: number; ThrottlingRateLimit?: number };
      AccessLogSettings?: { Format?: string; DestinationArn?: unknown };
    };
    assert.ok((stage.DefaultRouteSettings?.ThrottlingBurstLimit ?? 0) > 0, 'a burst limit');
    assert.ok((stage.DefaultRouteSettings?.ThrottlingRateLimit ?? 0) > 0, 'a rate limit');
    assert.equal(render(stage.AccessLogSettings?.DestinationArn), ref('HttpApiLogGroup.Arn'));
    const format = String(stage.AccessLogSettings?.Format);
    assert.match(format, /\$context\.status/);
    assert.doesNotMatch(format, /sourceIp|\$context\.identity/, 'no client address in the access log');
    assert.equal(resource('HttpApiLogGroup').Properties?.RetentionInDays, 14);
  });

  it('declares no other bucket and no other policy', () => {
    assert.deepEqual(
      ofType('AWS::S3::Bucket')
        .map(([name]) => name)
        .sort(),
      ['PageBucket', 'ServerlessDeploymentBucket', 'UploadsBucket'],
    );
    assert.deepEqual(
      ofType('AWS::S3::BucketPolicy')
        .map(([name]) => name)
        .sort(),
      ['PageBucketPolicy', 'ServerlessDeploymentBucketPolicy'],
    );
  });
});
