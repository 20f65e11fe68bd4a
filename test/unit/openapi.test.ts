/**
 * The OpenAPI document generated from layers/contract/: valid for a real OpenAPI 3 validator, served as it
 * is built by GET /openapi.json, and saying what the handlers really do (every error code with its status,
 * the history query's parameters, the limits). That every route of serverless.yml is in it is checked
 * beside the printed configuration, in serverless-config.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ERROR_CODES, type ErrorCode, formatMiB, MAX_UPLOAD_BYTES, MAX_UPLOAD_TEXT } from '#contract';
import { buildOpenApiDocument } from '#contract/openapi';
import { writeOpenApiDocument } from '../../scripts/openapi';

type Document = ReturnType<typeof buildOpenApiDocument>;

async function validate(document: unknown): Promise<{ valid: boolean; errors?: unknown; version?: string }> {
  // The validator is an ES module; this test runs as CommonJS.
  const { Validator } = await import('@seriousme/openapi-schema-validator');
  const validator = new Validator();
  const result = await validator.validate(document as Record<string, unknown>);
  return { ...result, version: validator.version };
}

function operations(document: Document): Array<{ key: string; responses: Record<string, { description?: string; content?: unknown }> }> {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item as Record<string, { responses: Record<string, { description?: string }> }>).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      responses: op.responses,
    })),
  );
}

describe('the OpenAPI document', () => {
  const document = buildOpenApiDocument();

  it('is a valid OpenAPI 3.0 document for @seriousme/openapi-schema-validator', async () => {
    const result = await validate(structuredClone(document));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(result.version, '3.0');
  });

  it('is refused by the same validator when broken, so the check above can fail', async () => {
    const broken = structuredClone(document) as unknown as { paths: Record<string, Record<string, { responses?: unknown }>> };
    delete broken.paths['/predict']?.post?.responses;
    assert.equal((await validate(broken)).valid, false);
  });

  it('describes predict (multipart and raw image bodies), history, one prediction (read, erase, label), stats, health and openapi', () => {
    assert.deepEqual(
      operations(document)
        .map((op) => op.key)
        .sort(),
      [
        'DELETE /predictions/{id}',
        'GET /health',
        'GET /history',
        'GET /openapi.json',
        'GET /predictions/{id}',
        'GET /stats',
        'POST /predict',
        'POST /predictions/{id}/label',
      ],
    );
    const body = document.paths?.['/predict']?.post?.requestBody as { content: Record<string, unknown> };
    assert.ok(body.content['multipart/form-data']);
    for (const type of ['image/png', 'image/jpeg', 'application/octet-stream']) assert.ok(body.content[type], type);
  });

  it('lists every error code with its status, and each error answer names only codes of that status', () => {
    const schemas = document.components?.schemas as Record<
      string,
      { properties: Record<string, { properties: Record<string, { enum?: string[] }> }> }
    >;
    const codes = schemas.ErrorBody?.properties.error?.properties.code?.enum;
    assert.deepEqual(codes, Object.keys(ERROR_CODES));
    for (const op of operations(document)) {
      for (const [status, response] of Object.entries(op.responses)) {
        const named = [...(response.description ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as ErrorCode);
        for (const code of named) assert.equal(String(ERROR_CODES[code]?.status), status, `${op.key} ${status} names ${code}`);
        if (Number(status) >= 400 && op.key !== 'GET /health') assert.ok(named.length > 0, `${op.key} ${status} names its codes`);
      }
    }
  });

  it("gives /history's query parameters as the handler reads them", () => {
    const parameters = (document.paths?.['/history']?.get?.parameters ?? []) as Array<{ name: string; in: string; required: boolean }>;
    assert.deepEqual(parameters.map((p) => [p.name, p.in, p.required]).sort(), [
      ['cursor', 'query', false],
      ['digit', 'query', false],
      ['labelled', 'query', false],
      ['limit', 'query', false],
    ]);
  });

  it('says which routes take credentials, and answers 401 on those that need them', () => {
    const schemes = document.components?.securitySchemes as Record<string, { type: string; scheme: string; description?: string }>;
    assert.deepEqual(schemes.bearer, { type: 'http', scheme: 'bearer', description: schemes.bearer?.description });
    const paths = document.paths as Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    for (const [path, method] of [
      ['/history', 'get'],
      ['/predictions/{id}', 'get'],
      ['/predictions/{id}', 'delete'],
      ['/predictions/{id}/label', 'post'],
    ] as const) {
      const op = paths[path]?.[method];
      assert.deepEqual(op?.security, [{ bearer: [] }], `${method} ${path} needs credentials`);
      assert.ok(op?.responses['401'], `${method} ${path} documents 401`);
      if (path !== '/history') assert.ok(op?.responses['404'], `${method} ${path} documents 404`);
    }
    // /predict: anonymous or with a token; its answer carries the visitor's token.
    assert.deepEqual(paths['/predict']?.post?.security, [{}, { bearer: [] }]);
    const schemas = document.components?.schemas as Record<string, { properties: Record<string, unknown>; required?: string[] }>;
    assert.ok(schemas.PredictionReceipt?.required?.includes('visitorToken'));
    assert.ok(!schemas.HistoryItem?.required?.includes('clientIp'), "clientIp is the operator's only");
    assert.ok(paths['/predictions/{id}']?.delete?.responses['204']);
  });

  it('states the upload limit in MiB, the unit of the API messages', () => {
    assert.equal(formatMiB(MAX_UPLOAD_BYTES), MAX_UPLOAD_TEXT);
    assert.match(document.paths?.['/predict']?.post?.description ?? '', /4\.5 MiB/);
  });

  it('is what GET /openapi.json answers', async () => {
    const { handler } = await import('../../functions/openapi.js');
    const result = await handler({ headers: {}, requestContext: { requestId: 'r-openapi' } } as unknown as APIGatewayProxyEventV2);
    assert.equal(result.statusCode, 200);
    assert.match(String(result.headers?.['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(result.body ?? ''), JSON.parse(JSON.stringify(document)));
  });

  it('is what npm run openapi writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      writeOpenApiDocument(join(dir, 'openapi.json'));
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'openapi.json'), 'utf8')), JSON.parse(JSON.stringify(document)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
