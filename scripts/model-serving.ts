/**
 * Which model serves, and which reads in shadow: model/serving.json (layers/config/serving-choice.ts), shipped
 * with the models, so that a promotion or a rollback is one command, one commit and one deploy.
 *
 *   npm run model:status                       what serves and what reads in shadow, with their versions
 *   npm run model:promote                      the learned reader serves, the classifier reads in shadow
 *   npm run model:promote -- --shadow none     the same with nothing in shadow (every picture read once: the
 *                                              shadow's pipeline costs more CPU than the reader that serves)
 *   npm run model:promote -- --from <folder>   the same, with a newly trained reader (its model.json and
 *                                              weights.bin (and refusal.json) replace model/reader/'s, kept in
 *                                              .local/reader-versions/<version>/ for a rollback on this machine)
 *   npm run model:rollback                     back to the choice before the last promotion (and its reader's
 *                                              weights, when the promotion replaced them)
 *
 * Every change is appended to the file's history with its time and the versions it names. SERVING_MODEL and
 * SHADOW_MODEL still override the file for one container.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { classifierVersion, readArtifacts } from '#classifier/classifier';
import { DEFAULT_CHOICE, readServingFile, SERVING_FILE, type ServingChoice, type ShadowModelKind } from '#config/serving-choice';
import { loadReader, REFUSAL_FILE, readerVersion, readRefusal } from '#reader/reader';

// The project's folders; --root points them at a copy (the tests promote and roll back in a temporary one).
let MODEL_DIR = '';
let READER_DIR = '';
let FILE = '';
let KEPT = '';
function setRoot(root: string): void {
  MODEL_DIR = join(root, 'model');
  READER_DIR = join(MODEL_DIR, 'reader');
  FILE = join(MODEL_DIR, SERVING_FILE);
  KEPT = join(root, '.local', 'reader-versions');
}
const READER_FILES = ['model.json', 'weights.bin'];
/** Shipped with a reader when it was fitted one (model/reader/fit-refusal.ts): it changes answers, so it travels with the weights. */
const OPTIONAL_FILES = [REFUSAL_FILE];

/** Copies a reader's files from one folder to another; an optional file the source lacks is removed from the target. */
function copyReader(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of READER_FILES) copyFileSync(join(from, name), join(to, name));
  for (const name of OPTIONAL_FILES) {
    if (existsSync(join(from, name))) copyFileSync(join(from, name), join(to, name));
    else rmSync(join(to, name), { force: true });
  }
}

interface Entry extends ServingChoice {
  at: string;
  action: 'promote' | 'rollback';
  /** The versions the choice names, by the digests the service reports (readerVersion is reader-<12 hex>). */
  readerVersion: string;
  /** A promotion: the choice it replaced, which its rollback restores. */
  previous?: ServingChoice;
  /** A promotion that replaced the reader's weights: the version it replaced. */
  replacedReader?: string;
  /** A rollback: the time of the promotion it undid. */
  undoes?: string;
}

interface ServingFile extends ServingChoice {
  history: Entry[];
}

function readFile(): ServingFile {
  if (!existsSync(FILE)) return { ...DEFAULT_CHOICE, history: [] };
  const choice = readServingFile(MODEL_DIR);
  const { history } = JSON.parse(readFileSync(FILE, 'utf8')) as { history?: Entry[] };
  return { ...choice, history: Array.isArray(history) ? history : [] };
}

function write(file: ServingFile): void {
  writeFileSync(FILE, `${JSON.stringify(file, null, 2)}\n`);
}

/** The version the service reports for the reader in `dir`: with the shipped classifier's second opinion (layers/reader/second-opinion.ts). */
async function readerVersionIn(dir = READER_DIR): Promise<string> {
  return readerVersion((await readArtifacts(dir)).digest, readRefusal(dir), await classifierVersion());
}

function describe(choice: ServingChoice, version: string): string {
  const name = (kind: string): string => (kind === 'reader' ? `reader (${version})` : kind);
  return `serving: ${name(choice.serving)}; shadow: ${name(choice.shadow)}`;
}

async function promote(from: string | undefined, shadow: ShadowModelKind): Promise<void> {
  const file = readFile();
  let replacedReader: string | undefined;
  if (from) {
    const candidate = resolve(from);
    // The candidate must load and read through the service's own loader before it replaces anything.
    const reader = await loadReader({ backend: 'cpu', modelDir: candidate });
    reader.dispose();
    replacedReader = await readerVersionIn();
    copyReader(READER_DIR, join(KEPT, replacedReader));
    copyReader(candidate, READER_DIR);
  }
  const version = await readerVersionIn();
  const entry: Entry = {
    at: new Date().toISOString(),
    action: 'promote',
    serving: 'reader',
    shadow,
    readerVersion: version,
    previous: { serving: file.serving, shadow: file.shadow },
  };
  if (replacedReader) entry.replacedReader = replacedReader;
  write({ serving: 'reader', shadow, history: [...file.history, entry] });
  console.log(`promoted: ${describe(entry, version)}${replacedReader ? ` (replaced ${replacedReader}, kept in ${KEPT})` : ''}`);
  console.log('Commit model/ and deploy; `npm run model:rollback` undoes this.');
}

async function rollback(): Promise<void> {
  const file = readFile();
  const undone = new Set(file.history.map((e) => e.undoes));
  const last = [...file.history].reverse().find((e) => e.action === 'promote' && !undone.has(e.at));
  if (!last) throw new Error(`nothing to roll back: ${SERVING_FILE} records no promotion that is not undone`);
  const before = last.previous ?? DEFAULT_CHOICE;
  if (last.replacedReader) {
    const kept = join(KEPT, last.replacedReader);
    if (!existsSync(join(kept, 'weights.bin'))) {
      throw new Error(
        `the reader ${last.replacedReader} that the last promotion replaced is not kept on this machine (${kept}); ` +
          `restore model/reader/ from the commit before the promotion (git log -- model/reader), then run this again`,
      );
    }
    copyReader(kept, READER_DIR);
  }
  const version = await readerVersionIn();
  const entry: Entry = {
    at: new Date().toISOString(),
    action: 'rollback',
    serving: before.serving,
    shadow: before.shadow,
    readerVersion: version,
    undoes: last.at,
  };
  write({ serving: before.serving, shadow: before.shadow, history: [...file.history, entry] });
  console.log(`rolled back: ${describe(entry, version)}`);
  console.log('Commit model/ and deploy.');
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      shadow: { type: 'string', default: 'classifier' },
      root: { type: 'string', default: resolve(__dirname, '..') },
    },
  });
  setRoot(resolve(values.root));
  const command = positionals[0];
  if (command === 'promote') {
    const shadow = values.shadow as ShadowModelKind;
    if (shadow !== 'classifier' && shadow !== 'none') throw new Error('--shadow is classifier (the default) or none');
    return promote(values.from, shadow);
  }
  if (command === 'rollback') return rollback();
  if (command === 'status') {
    const file = readFile();
    console.log(describe(file, existsSync(join(READER_DIR, 'model.json')) ? await readerVersionIn() : 'absent'));
    console.log(`(${existsSync(FILE) ? SERVING_FILE : 'no serving.json: the default'}; SERVING_MODEL and SHADOW_MODEL override it)`);
    return;
  }
  throw new Error('usage: tsx scripts/model-serving.ts status | promote [--from <reader folder>] [--shadow classifier|none] | rollback');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
