/**
 * `npm run openapi [-- <file>]`: writes the API's OpenAPI 3 document, generated from layers/contract/, to
 * dist/openapi.json (or the given file), for tools that want it on disk (client generators, linters, docs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildOpenApiDocument } from '#contract/openapi';

export function writeOpenApiDocument(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
}

if (require.main === module) {
  const file = resolve(process.argv[2] ?? join(__dirname, '..', 'dist', 'openapi.json'));
  writeOpenApiDocument(file);
  console.log(`OpenAPI document written to ${file}`);
}
