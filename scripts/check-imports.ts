/**
 * The import graph's rules, checked in `npm run lint` (as `npm run deps:check`):
 * - no import circle anywhere in the project's TypeScript (functions, layers, model, scripts, bench, tools, test);
 * - no arrow upward in layers/: a request flows handler -> http -> use case (predict/, predictions/, stats/service)
 *   -> uploads / store / reader -> preprocess -> classifier, auth -> config, errors, observability, contract; a module may import
 *   its own folder and what is listed below it, never above (LAYER_RANK);
 * - layers/ imports nothing from functions/, scripts/, tools/, bench/, test/ or model/.
 * Modules are resolved by TypeScript itself with tsconfig.json, so `#concern/*` imports count exactly as tsc
 * reads them; type-only imports count too (a circle of types is still a circle for the reader).
 *
 * Usage: npm run deps:check [-- --graph]   (--graph prints every edge)
 */
import { relative, resolve } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../tools/root';

/** Lower rank = lower layer. A module may import a folder of lower or equal rank (equal: only its own folder). */
export const LAYER_RANK: Record<string, number> = {
  contract: 0,
  errors: 1,
  observability: 1,
  config: 2,
  auth: 3,
  classifier: 3,
  preprocess: 4,
  reader: 5,
  uploads: 5,
  store: 5,
  stats: 6,
  predict: 7,
  predictions: 7,
  http: 8,
  runtime: 9,
};

/** Exceptions, each with its reason: [from folder, to folder]. */
const ALLOWED_UPWARD: Array<[string, string, string]> = [
  ['config', 'store', 'the configuration validates the Cassandra settings too (store/cassandra/config.ts parses them)'],
  ['config', 'http', "the configuration validates CLIENT_IP_STORAGE against http/client-ip.ts's modes"],
  ['store', 'stats', 'both stores count statistics cells in the same write as the record (stats/cell.ts, cells.ts)'],
  ['config', 'classifier', "the configuration validates INFERENCE_BACKEND against classifier/backend.ts's choices"],
];

export function folderOf(file: string): string | null {
  const rel = relative(resolve(ROOT, 'layers'), file);
  if (rel.startsWith('..')) return null;
  const parts = rel.split('/');
  return parts.length === 1 ? (parts[0] as string).replace(/\.ts$/, '') : (parts[0] as string);
}

/** Why an import from `from` to `to` breaks the layering, or null. Both are absolute paths. */
export function layeringError(from: string, to: string): string | null {
  const a = folderOf(from);
  const b = folderOf(to);
  if (a !== null && b === null && !to.includes('/node_modules/')) return 'layers/ imports outside layers/';
  if (a === null || b === null || a === b) return null;
  const ra = LAYER_RANK[a];
  const rb = LAYER_RANK[b];
  if (ra === undefined) return `layers/${a} has no rank in scripts/check-imports.ts`;
  if (rb === undefined) return `layers/${b} has no rank in scripts/check-imports.ts`;
  if (rb < ra) return null;
  if (ALLOWED_UPWARD.some(([x, y]) => x === a && y === b)) return null;
  return rb === ra ? `layers/${a} and layers/${b} are peers: neither may import the other` : `layers/${a} reaches up to layers/${b}`;
}

/** Every strongly connected component of more than one module (or a module importing itself). */
export function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

function main(): void {
  const configPath = resolve(ROOT, 'tsconfig.json');
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, ROOT);
  const host = ts.createCompilerHost(parsed.options);
  const graph = new Map<string, string[]>();
  const problems: string[] = [];
  const show = (f: string) => relative(ROOT, f);
  for (const file of parsed.fileNames) {
    const info = ts.preProcessFile(ts.sys.readFile(file) ?? '', true, true);
    const edges: string[] = [];
    for (const { fileName: spec } of info.importedFiles) {
      const target = ts.resolveModuleName(spec, file, parsed.options, host).resolvedModule?.resolvedFileName;
      if (target === undefined || target.includes('/node_modules/') || !target.startsWith(ROOT)) continue;
      edges.push(target);
      const why = layeringError(file, target);
      if (why !== null) problems.push(`${show(file)} -> ${show(target)}: ${why}`);
    }
    graph.set(file, edges);
    if (process.argv.includes('--graph')) for (const e of edges) console.log(`${show(file)} -> ${show(e)}`);
  }
  for (const c of circles(graph)) problems.push(`import circle: ${c.map(show).join(' <-> ')}`);
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error(`${problems.length} import problem(s) in ${graph.size} modules`);
    process.exit(1);
  }
  console.log(`imports: ${graph.size} modules, no circle, no arrow upward in layers/`);
}

if (require.main === module) main();
