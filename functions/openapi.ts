/** GET /openapi.json: the API's OpenAPI 3 document, generated from the contract once per container. */
import { buildOpenApiDocument } from '#contract/openapi';
import { httpHandler, json } from '#http/handler';

let document: ReturnType<typeof buildOpenApiDocument> | undefined;

export const handler = httpHandler('openapi', async () => {
  document ??= buildOpenApiDocument();
  return json(200, document, { 'cache-control': 'public, max-age=300' });
});
