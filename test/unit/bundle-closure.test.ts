/**
 * The bundle's production closure: which package-lock entries the externals need at run time, resolved the way
 * npm lays out node_modules (nested first, then upwards), so that the image's `npm ci --omit=dev` installs all
 * of them and nothing else. Checked on small hand-made locks, and on the project's own lock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INSTALLED_EXTERNALS, productionClosure, productionManifests } from '../../scripts/bundle';

type Lock = Parameters<typeof productionClosure>[0];

function lock(packages: Record<string, object>): Lock {
  return { name: 'x', version: '1.0.0', lockfileVersion: 3, packages: { '': {}, ...packages } } as Lock;
}

describe('productionClosure', () => {
  it('follows dependencies, optional dependencies and required peers, preferring nested copies', () => {
    const closure = productionClosure(
      lock({
        'node_modules/app-native': { version: '1.0.0', dependencies: { a: '^1' }, optionalDependencies: { 'plat-x': '1' } },
        'node_modules/app-native/node_modules/a': { version: '1.5.0', dependencies: { b: '^2' }, peerDependencies: { p: '*' } },
        'node_modules/a': { version: '2.0.0' },
        'node_modules/b': { version: '2.1.0' },
        'node_modules/p': { version: '1.0.0' },
        'node_modules/plat-x': { version: '1.0.0', optional: true },
        'node_modules/unrelated': { version: '1.0.0' },
      }),
      ['app-native'],
    );
    assert.deepEqual(closure, [
      'node_modules/app-native',
      'node_modules/app-native/node_modules/a',
      'node_modules/b',
      'node_modules/p',
      'node_modules/plat-x',
    ]);
  });

  it('skips optional peers and optional dependencies the lock does not hold, but not a required one', () => {
    const base = {
      'node_modules/n': {
        version: '1.0.0',
        optionalDependencies: { 'plat-y': '1' },
        peerDependencies: { q: '*' },
        peerDependenciesMeta: { q: { optional: true } },
      },
    };
    assert.deepEqual(productionClosure(lock(base), ['n']), ['node_modules/n']);
    assert.throws(
      () => productionClosure(lock({ 'node_modules/n': { version: '1.0.0', dependencies: { gone: '1' } } }), ['n']),
      /node_modules\/n needs gone/,
    );
  });

  it('holds every external of the project at its locked version, and no bundled package', () => {
    const { packageJson, packageLock } = productionManifests();
    const manifest = packageJson as { dependencies: Record<string, string>; optionalDependencies: Record<string, string> };
    const listed = { ...manifest.dependencies, ...manifest.optionalDependencies };
    assert.deepEqual(Object.keys(listed).sort(), [...INSTALLED_EXTERNALS].sort());
    for (const [name, version] of Object.entries(listed)) {
      assert.equal(packageLock.packages[`node_modules/${name}`]?.version, version);
    }
    for (const bundled of ['cassandra-driver', 'busboy', '@aws-sdk/client-s3', 'aws-sdk', '@tensorflow/tfjs-backend-wasm', 'esbuild']) {
      assert.equal(packageLock.packages[`node_modules/${bundled}`], undefined, `${bundled} is bundled, not installed`);
    }
    assert.ok(
      Object.values(packageLock.packages).every((entry) => !entry.dev),
      'no dev entry',
    );
  });

  it("carries the project's allowScripts, so npm 11 runs the natives' install scripts in the image without a warning", () => {
    const { packageJson } = productionManifests();
    const { allowScripts } = packageJson as { allowScripts?: Record<string, boolean> };
    assert.equal(allowScripts?.['better-sqlite3'], true);
    assert.equal(allowScripts?.['@tensorflow/tfjs-node'], true);
  });
});
