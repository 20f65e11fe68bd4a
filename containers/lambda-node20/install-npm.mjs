// Installs npm (the CLI the AWS Node.js 20 image ships, 10.8.2) from the npm registry into /usr/lib/node_modules/npm.
// Debian packages npm as hundreds of separate node-* packages; the registry's single tarball is what the real image
// carries. The tarball is checked against the registry's published sha512 before it is unpacked.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';

const [version, integrity] = process.argv.slice(2);
if (!version || !integrity?.startsWith('sha512-')) {
  throw new Error('usage: node install-npm.mjs <version> <sha512-integrity>');
}
const url = `https://registry.npmjs.org/npm/-/npm-${version}.tgz`;
const response = await fetch(url);
if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
const tarball = Buffer.from(await response.arrayBuffer());
const actual = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
if (actual !== integrity) throw new Error(`npm ${version}: integrity ${actual}, expected ${integrity}`);

const target = '/usr/lib/node_modules/npm';
mkdirSync(target, { recursive: true });
writeFileSync('/tmp/npm.tgz', tarball);
execFileSync('tar', ['-xzf', '/tmp/npm.tgz', '-C', target, '--strip-components=1', '--no-same-owner']);
symlinkSync(`${target}/bin/npm-cli.js`, '/usr/bin/npm');
symlinkSync(`${target}/bin/npx-cli.js`, '/usr/bin/npx');
