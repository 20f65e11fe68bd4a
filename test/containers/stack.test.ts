/**
 * The Compose stack (docker-compose.yml) over HTTP, as `npm run stack:up` brings it up, in a Compose project and on
 * host ports of the test's own: predict (multipart) and history through the API, the page from the local bucket,
 * and the record still listed after `down` then `up` (it lives in the Cassandra container's named volume). The
 * project's containers and volumes are removed at the end.
 *
 * Needs a container engine with Compose (podman-compose here: scripts/containers/setup-host.sh; or Docker).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { plainDigit } from '../../model/training/digit-images';
import { compose, type RunningStack, type StackPorts, stackDown, stackUp } from '../../scripts/containers/stack';
import { DEFAULT_PAGE_BUCKET } from '../../scripts/s3-local';
import { freePort } from '../../tools/ports';

const project = `digit-stack-test-${randomBytes(3).toString('hex')}`;
let ports: StackPorts;
let stack: RunningStack;
const log = (msg: string): void => console.error(`[stack test] ${msg}`);

async function predict(apiUrl: string): Promise<{ id: string; digit: number; label: number; visitorToken: string }> {
  const digit = await plainDigit(2);
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(digit.bytes)], { type: digit.mediaType }), 'two.png');
  const response = await fetch(`${apiUrl}/predict`, { method: 'POST', body: form });
  const body = (await response.json()) as { id: string; digit: number; visitorToken: string };
  assert.equal(response.status, 200, JSON.stringify(body));
  return { ...body, label: digit.label };
}

/** The visitor's history: the token is signed with the key kept in the service's .local volume, so it outlives down and up. */
async function historyIds(apiUrl: string, visitorToken: string): Promise<string[]> {
  const response = await fetch(`${apiUrl}/history?limit=50`, { headers: { authorization: `Bearer ${visitorToken}` } });
  const body = (await response.json()) as { items: Array<{ id: string }> };
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.items.map((item) => item.id);
}

before(
  async () => {
    ports = { api: await freePort(), lambda: await freePort(), s3: await freePort(), cassandra: await freePort() };
    stack = await stackUp({ project, ports, log });
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  try {
    await stackDown({ project, ports, volumes: true });
  } catch (err) {
    console.error('stack down:', err);
  }
});

describe('the Compose stack', { timeout: 20 * 60_000 }, () => {
  let recorded = '';
  let token = '';

  it('predicts a digit over HTTP and lists it in the history, stored in the Cassandra container', async () => {
    const made = await predict(stack.apiUrl);
    assert.equal(made.digit, made.label);
    recorded = made.id;
    token = made.visitorToken;
    assert.ok((await historyIds(stack.apiUrl, token)).includes(recorded));
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as { store?: { kind?: string; ok?: boolean } };
    assert.deepEqual(health.store, { kind: 'cassandra', ok: true }, 'the service reports the Cassandra store');
  });

  it("reports the stack's own operator key, which the stack's API takes as the operator's", async () => {
    assert.ok(recorded, 'a record was made by the first test');
    assert.match(stack.operatorKey, /^op_/);
    assert.ok((await historyIds(stack.apiUrl, stack.operatorKey)).includes(recorded), "the operator sees a visitor's record");
  });

  it('serves the page from the local bucket', async () => {
    const response = await fetch(`http://127.0.0.1:${ports.s3}/${DEFAULT_PAGE_BUCKET}/`);
    const html = await response.text();
    assert.equal(response.status, 200);
    assert.match(html, /<html/i);
  });

  it('keeps the records across down and up (named volume)', async () => {
    assert.ok(recorded, 'a record was made by the first test');
    await compose(project, ['down'], stack.env, { echo: false });
    stack = await stackUp({ project, ports, log });
    assert.ok((await historyIds(stack.apiUrl, token)).includes(recorded), 'the record made before down is listed after up');
  });
});
