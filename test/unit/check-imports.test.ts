/**
 * The import rules that `npm run lint` checks (scripts/check-imports.ts): circles are found, an arrow upward
 * in layers/ is named, and arrows downward, within a folder or out to packages pass.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { circles, layeringError } from '../../scripts/check-imports';
import { ROOT } from '../../tools/root';

const at = (path: string) => join(ROOT, path);

describe('import circles', () => {
  it('finds a circle of three modules and leaves the chain beside it alone', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    assert.deepEqual(circles(graph), [['a', 'b', 'c']]);
  });

  it('finds a module that imports itself, and nothing in a tree', () => {
    assert.deepEqual(circles(new Map([['self', ['self']]])), [['self']]);
    assert.deepEqual(
      circles(
        new Map([
          ['root', ['x', 'y']],
          ['x', ['y']],
          ['y', []],
        ]),
      ),
      [],
    );
  });
});

describe('layering in layers/', () => {
  it('names an arrow upward: the store reaching into the HTTP mapping', () => {
    assert.match(layeringError(at('layers/store/cursor.ts'), at('layers/http/handler.ts')) ?? '', /reaches up/);
  });

  it('names peers that import each other and layers/ importing the test harness', () => {
    assert.match(layeringError(at('layers/predict/predict.ts'), at('layers/predictions/history.ts')) ?? '', /peers/);
    assert.match(layeringError(at('layers/http/handler.ts'), at('tools/service.ts')) ?? '', /outside layers/);
  });

  it('lets an arrow downward, one within a folder, a listed exception and a package through', () => {
    assert.equal(layeringError(at('layers/http/handler.ts'), at('layers/errors/errors.ts')), null);
    assert.equal(layeringError(at('layers/store/cassandra/store.ts'), at('layers/store/cursor.ts')), null);
    assert.equal(layeringError(at('layers/config/config.ts'), at('layers/store/cassandra/config.ts')), null);
    assert.equal(layeringError(at('layers/http/handler.ts'), at('node_modules/zod/index.d.ts')), null);
  });
});
