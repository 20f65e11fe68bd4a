/**
 * Writes dist/package.json for the compiled handlers that serverless-offline runs: Node resolves a `#concern/*`
 * import against the nearest package.json, and the project's own maps each to its TypeScript source (for tsx,
 * tsc and esbuild). The compiled copy maps the same names to the compiled .js files beside it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tools/root';

export function compiledImports(imports: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(imports).map(([name, target]) => [name, target.replace(/\.ts$/, '.js')]));
}

const project = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports: Record<string, string> };
writeFileSync(
  join(ROOT, 'dist', 'package.json'),
  `${JSON.stringify({ private: true, type: 'commonjs', imports: compiledImports(project.imports) }, null, 2)}\n`,
);
