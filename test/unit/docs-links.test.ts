/**
 * The README is a front door and docs/ holds the rest: the README stays short, every relative link of the README,
 * the model card and docs/*.md reaches a file that exists (and a heading that exists, when it names one), and the README's
 * errors table names every error code the API answers. Files move; a link left behind fails here, not in a reader's
 * browser.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODE_NAMES } from '../../layers/contract/errors';

const ROOT = join(__dirname, '..', '..');
const README = join(ROOT, 'README.md');
const README_MAX_LINES = 250;

const docs = (): string[] => [
  README,
  join(ROOT, 'model', 'README.md'),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(ROOT, 'docs', name)),
];

/** The Markdown outside fenced code blocks, line by line (a `# comment` in a shell block is no heading). */
function proseLines(markdown: string): { text: string; line: number }[] {
  const lines: { text: string; line: number }[] = [];
  let fenced = false;
  markdown.split('\n').forEach((text, index) => {
    if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
    else if (!fenced) lines.push({ text, line: index + 1 });
  });
  return lines;
}

/** Every link and image target of a Markdown file, inline code left out. */
function linkTargets(markdown: string): { target: string; line: number }[] {
  return proseLines(markdown).flatMap(({ text, line }) =>
    [...text.replace(/`[^`]*`/g, '').matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => ({
      target: match[1] as string,
      line,
    })),
  );
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const slug = (heading[1] as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** What is wrong with one relative link of `file`, or undefined when it reaches its file (and heading). */
function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // http:, https:, mailto:
  const [path = '', anchor] = target.split('#', 2);
  const destination = path === '' ? file : join(dirname(file), decodeURIComponent(path));
  if (!existsSync(destination)) return `${relative(ROOT, destination)} does not exist`;
  if (anchor === undefined || !destination.endsWith('.md') || statSync(destination).isDirectory()) return undefined;
  if (!headingAnchors(readFileSync(destination, 'utf8')).has(anchor)) return `${relative(ROOT, destination)} has no heading #${anchor}`;
  return undefined;
}

describe('README.md, model/README.md and docs/', () => {
  it(`keeps the README a front door: at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(README, 'utf8').trimEnd().split('\n').length;
    assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines; move the detail to a page of docs/`);
  });

  it('links only to files (and headings) that exist', () => {
    const broken: string[] = [];
    for (const file of docs()) {
      for (const { target, line } of linkTargets(readFileSync(file, 'utf8'))) {
        const problem = brokenLink(file, target);
        if (problem) broken.push(`${relative(ROOT, file)}:${line} links to ${target}: ${problem}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it("names every error code of the API in the README's errors table", () => {
    const readme = readFileSync(README, 'utf8');
    const table = readme.slice(readme.indexOf('## Errors'));
    const missing = ERROR_CODE_NAMES.filter((code) => !table.includes(`\`${code}\``));
    assert.deepEqual(missing, [], 'add them to the README (and to docs/api.md)');
  });

  it('reads links and anchors as GitHub does', () => {
    const markdown = [
      '# A title',
      '## Refusal and calibration (`refusal.json`)',
      '## A title',
      'See [it](other.md#x), ![a chart](../bench/chart.png) and `[not](a-link.md)`.',
      '```sh',
      '# not a heading [nor](a-link.md)',
      '```',
    ].join('\n');
    assert.deepEqual([...headingAnchors(markdown)], ['a-title', 'refusal-and-calibration-refusaljson', 'a-title-1']);
    assert.deepEqual(linkTargets(markdown), [
      { target: 'other.md#x', line: 4 },
      { target: '../bench/chart.png', line: 4 },
    ]);
  });
});
