/**
 * The uploads bucket as the use cases see it: keys derived from the upload's SHA-256 and real type (never
 * from its file name), the configuration the environment produces, the object written before the record is
 * saved (and nothing saved when the write fails), and history items carrying a URL only for kept uploads.
 * The bucket, classifier and store are fakes here; test/integration/uploads-bucket.test.ts uses a real server.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import type { Classifier } from '#classifier/classifier';
import { NEVER_REFUSE } from '#classifier/refusal';
import { ConfigError, readUploadsConfig } from '#config/config';
import { ServiceUnavailableError } from '#errors/errors';
import { predictDigit } from '#predict/predict';
import { classifierModel } from '#predict/serving-model';
import { listHistory } from '#predictions/history';
import type { ImageMediaType } from '#preprocess/image-format';
import type { StatCell } from '#stats/cells';
import type { ListPage, ListQuery, PredictionRecord, PredictionStore, RecordLabel } from '#store/prediction-store';
import { S3UploadsBucket, s3ClientConfig, type UploadsBucket, uploadKey } from '#uploads/bucket';
import { plainDigit } from '../../model/training/digit-images';
import { makeRecord } from '../support/records';

const SHA = 'ab'.padEnd(64, '0123456789abcdef');

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Records every call, in order, across the fakes. */
type Journal = string[];

class FakeBucket implements UploadsBucket {
  readonly bucket = 'uploads-test';
  readonly objects = new Map<string, { bytes: Buffer; contentType: string; sha256: string }>();
  constructor(
    private readonly journal: Journal,
    private readonly failWith?: Error,
  ) {}

  async put(key: string, bytes: Buffer, contentType: ImageMediaType, hash: string): Promise<void> {
    this.journal.push(`put ${key}`);
    if (this.failWith) throw this.failWith;
    this.objects.set(key, { bytes: Buffer.from(bytes), contentType, sha256: hash });
  }

  async signedUrl(key: string): Promise<string> {
    return `https://signed.example/${key}?X-Amz-Expires=900`;
  }

  async delete(key: string): Promise<void> {
    this.journal.push(`delete ${key}`);
    this.objects.delete(key);
  }
}

class FakeStore implements PredictionStore {
  readonly saved: PredictionRecord[] = [];
  constructor(private readonly journal: Journal) {}
  async save(record: PredictionRecord): Promise<void> {
    this.journal.push(`save ${record.id}`);
    this.saved.push(record);
  }
  async list(_query: ListQuery): Promise<ListPage> {
    return { items: [...this.saved].reverse(), nextCursor: null };
  }
  async get(id: string): Promise<PredictionRecord | null> {
    return this.saved.find((record) => record.id === id) ?? null;
  }
  async setLabel(record: PredictionRecord, label: RecordLabel): Promise<void> {
    record.label = label;
  }
  async countRefusal(): Promise<void> {}
  async countShadow(): Promise<void> {}
  async readStats(): Promise<StatCell[]> {
    return [];
  }
  async delete(record: PredictionRecord): Promise<void> {
    this.saved.splice(this.saved.indexOf(record), 1);
  }
  async imageReferenced(imageKey: string, exceptId?: string): Promise<boolean> {
    return this.saved.some((record) => record.imageKey === imageKey && record.id !== exceptId);
  }
  async ping(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {}
}

/** Always answers "7" with probability 0.9: the wiring is under test here, not the model. */
const classifier: Classifier = {
  backend: 'fake',
  version: 'fake-1',
  async predictBatch(input: Float32Array): Promise<Float32Array> {
    const out = new Float32Array((input.length / 784) * 10).fill(0.1 / 9);
    out[7] = 0.9;
    return out;
  },
  async readBatch(input: Float32Array) {
    return { probabilities: await this.predictBatch(input), digitScores: new Float32Array(input.length / 784).fill(1) };
  },
  thresholds: NEVER_REFUSE,
  temperature: 1,
  dispose(): void {},
};

describe('uploadKey', () => {
  it("keys one visitor's uploads apart from another's, by a tag of the id, never the id itself", () => {
    const mine = uploadKey(SHA, 'image/png', 'visitor-one-id-0000000');
    assert.match(mine, new RegExp(`^uploads/ab/${SHA}-[0-9a-f]{16}\\.png$`));
    assert.equal(uploadKey(SHA, 'image/png', 'visitor-one-id-0000000'), mine);
    assert.notEqual(uploadKey(SHA, 'image/png', 'visitor-two-id-0000000'), mine);
    assert.ok(!mine.includes('visitor'));
  });

  it('derives the key from the SHA-256 and the detected type: uploads/<2 hex>/<sha256>.<ext>', () => {
    assert.equal(uploadKey(SHA, 'image/png'), `uploads/ab/${SHA}.png`);
    assert.equal(uploadKey(SHA, 'image/jpeg'), `uploads/ab/${SHA}.jpg`);
    assert.equal(uploadKey(SHA, 'image/webp'), `uploads/ab/${SHA}.webp`);
    assert.equal(uploadKey(SHA, 'image/gif'), `uploads/ab/${SHA}.gif`);
    assert.equal(uploadKey(SHA, 'image/tiff'), `uploads/ab/${SHA}.tiff`);
    assert.equal(uploadKey(SHA, 'image/avif'), `uploads/ab/${SHA}.avif`);
  });

  it('refuses anything that is not a lower-case hex SHA-256, so no other text can reach a key', () => {
    for (const bad of ['', 'ab', SHA.toUpperCase(), `${SHA}0`, `../${SHA.slice(3)}`, `${SHA.slice(0, 60)}/../`, 'z'.repeat(64)]) {
      assert.throws(() => uploadKey(bad, 'image/png'), /SHA-256/, JSON.stringify(bad));
    }
  });
});

describe('readUploadsConfig', () => {
  it('keeps no uploads when UPLOADS_BUCKET is unset or empty', () => {
    assert.equal(readUploadsConfig({}), undefined);
    assert.equal(readUploadsConfig({ UPLOADS_BUCKET: '', S3_ENDPOINT: 'http://127.0.0.1:4569' }), undefined);
  });

  it('reads a local endpoint: path-style by default, static credentials, the TTL', () => {
    const config = readUploadsConfig({
      UPLOADS_BUCKET: 'digit-uploads',
      S3_ENDPOINT: 'http://127.0.0.1:4569',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      UPLOAD_URL_TTL_SECONDS: '60',
    });
    assert.deepEqual(config, {
      bucket: 'digit-uploads',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4569',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      urlTtlSeconds: 60,
    });
  });

  it('in the cloud uses AWS_REGION, virtual-host style, the default credential chain and a 15-minute URL', () => {
    const config = readUploadsConfig({ UPLOADS_BUCKET: 'digit-service-prod-uploads', AWS_REGION: 'eu-west-1' });
    assert.deepEqual(config, {
      bucket: 'digit-service-prod-uploads',
      region: 'eu-west-1',
      endpoint: undefined,
      forcePathStyle: false,
      credentials: undefined,
      urlTtlSeconds: 900,
    });
  });

  it('names the variable that is wrong', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ UPLOADS_BUCKET: 'Bad_Bucket' }, /UPLOADS_BUCKET/],
      [{ UPLOADS_BUCKET: 'ok-bucket', S3_ENDPOINT: '127.0.0.1:4569' }, /S3_ENDPOINT/],
      [{ UPLOADS_BUCKET: 'ok-bucket', S3_FORCE_PATH_STYLE: 'yes' }, /S3_FORCE_PATH_STYLE/],
      [{ UPLOADS_BUCKET: 'ok-bucket', S3_ACCESS_KEY_ID: 'only-half' }, /S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/],
      [{ UPLOADS_BUCKET: 'ok-bucket', UPLOAD_URL_TTL_SECONDS: '0' }, /UPLOAD_URL_TTL_SECONDS/],
      [{ UPLOADS_BUCKET: 'ok-bucket', UPLOAD_URL_TTL_SECONDS: '999999' }, /UPLOAD_URL_TTL_SECONDS/],
    ];
    for (const [env, message] of cases)
      assert.throws(
        () => readUploadsConfig(env),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
  });

  it('gives the S3 client the endpoint, path style and credentials only when configured', () => {
    const localConfig = readUploadsConfig({
      UPLOADS_BUCKET: 'b-local',
      S3_ENDPOINT: 'http://127.0.0.1:1',
      S3_ACCESS_KEY_ID: 'k',
      S3_SECRET_ACCESS_KEY: 's',
    });
    assert.ok(localConfig);
    const local = s3ClientConfig(localConfig);
    assert.equal(local.endpoint, 'http://127.0.0.1:1');
    assert.equal(local.forcePathStyle, true);
    assert.deepEqual(local.credentials, { accessKeyId: 'k', secretAccessKey: 's' });
    const cloudConfig = readUploadsConfig({ UPLOADS_BUCKET: 'b-cloud', AWS_REGION: 'eu-west-1' });
    assert.ok(cloudConfig);
    const cloud = s3ClientConfig(cloudConfig);
    assert.equal('endpoint' in cloud, false);
    assert.equal('credentials' in cloud, false);
    assert.equal(cloud.region, 'eu-west-1');
  });
});

describe('signed URLs of kept uploads', () => {
  const config = readUploadsConfig({
    UPLOADS_BUCKET: 'b-local',
    S3_ENDPOINT: 'http://127.0.0.1:1',
    S3_ACCESS_KEY_ID: 'k',
    S3_SECRET_ACCESS_KEY: 's',
    UPLOAD_URL_TTL_SECONDS: '900',
  });

  it('signs a key once for a third of its lifetime, then signs it afresh; each key its own URL', async () => {
    assert.ok(config);
    let now = Date.parse('2026-12-02T06:00:00Z');
    // Every signature runs the client's middleware: counting its runs counts the signatures.
    let signatures = 0;
    const client = new S3Client(s3ClientConfig(config));
    client.middlewareStack.add(
      (next) => (args) => {
        signatures += 1;
        return next(args);
      },
      { step: 'serialize', name: 'countSignatures' },
    );
    const bucket = new S3UploadsBucket(client, config, () => now);
    const key = uploadKey('a'.repeat(64), 'image/png');
    const first = await bucket.signedUrl(key);
    assert.match(first, /X-Amz-Signature=[0-9a-f]{64}/);
    assert.match(first, /X-Amz-Expires=900/);
    assert.equal(signatures, 1);
    now += 299_000;
    assert.equal(await bucket.signedUrl(key), first, 'signed again within a third of its lifetime');
    assert.equal(signatures, 1);
    const other = await bucket.signedUrl(uploadKey('b'.repeat(64), 'image/png'));
    assert.ok(other.includes('b'.repeat(64)));
    assert.equal(signatures, 2);
    now += 2_000;
    // Past 300 s, a new signature: the URL handed out is never older than a third of its 900 s.
    assert.ok((await bucket.signedUrl(key)).includes('a'.repeat(64)));
    assert.equal(signatures, 3);
  });
});

describe('predictDigit with an uploads bucket', () => {
  it('writes the upload under its SHA-256 key before saving the record, which stores the key and the hash', async () => {
    const journal: Journal = [];
    const uploads = new FakeBucket(journal);
    const store = new FakeStore(journal);
    const digit = await plainDigit(0);

    const answer = await predictDigit(
      { model: classifierModel(classifier), store, uploads, newId: () => 'id-1' },
      { bytes: digit.bytes, filename: 'seven.png', declaredType: 'image/png' },
      '127.0.0.1',
    );

    const hash = sha256(digit.bytes);
    const key = `uploads/${hash.slice(0, 2)}/${hash}.png`;
    assert.deepEqual(journal, [`put ${key}`, 'save id-1']);
    assert.deepEqual(uploads.objects.get(key), { bytes: digit.bytes, contentType: 'image/png', sha256: hash });
    assert.equal(store.saved[0]?.imageKey, key);
    assert.equal(store.saved[0]?.imageSha256, hash);
    assert.equal(answer.digit, 7);
  });

  it('never lets the file name reach the key: the same bytes under any name land under one key', async () => {
    const journal: Journal = [];
    const uploads = new FakeBucket(journal);
    const store = new FakeStore(journal);
    const digit = await plainDigit(1, 'jpeg');

    for (const filename of ['../../etc/passwd', '<img src=x onerror=alert(1)>.png', 'a.png']) {
      await predictDigit(
        { model: classifierModel(classifier), store, uploads },
        { bytes: digit.bytes, filename, declaredType: undefined },
        '127.0.0.1',
      );
    }

    const hash = sha256(digit.bytes);
    assert.deepEqual([...uploads.objects.keys()], [`uploads/${hash.slice(0, 2)}/${hash}.jpg`]);
    assert.deepEqual(
      store.saved.map((record) => record.imageKey),
      Array(3).fill(`uploads/${hash.slice(0, 2)}/${hash}.jpg`),
    );
  });

  it('answers 503 and stores nothing when the bucket refuses the write', async () => {
    const journal: Journal = [];
    const store = new FakeStore(journal);
    const uploads = new FakeBucket(journal, new Error('connect ECONNREFUSED 127.0.0.1:4569'));
    const digit = await plainDigit(2);

    await assert.rejects(
      predictDigit(
        { model: classifierModel(classifier), store, uploads },
        { bytes: digit.bytes, filename: 'x.png', declaredType: 'image/png' },
        '127.0.0.1',
      ),
      (error: unknown) =>
        error instanceof ServiceUnavailableError &&
        error.statusCode === 503 &&
        error.code === 'uploads_unavailable' &&
        error.headers['Retry-After'] === '5',
    );
    assert.equal(store.saved.length, 0);
    assert.equal(journal.length, 1, 'only the failed put happened');
  });

  it('keeps no upload and stores imageKey null without a bucket', async () => {
    const store = new FakeStore([]);
    const digit = await plainDigit(3);
    await predictDigit(
      { model: classifierModel(classifier), store },
      { bytes: digit.bytes, filename: 'x.png', declaredType: 'image/png' },
      '127.0.0.1',
    );
    assert.equal(store.saved[0]?.imageKey, null);
    assert.equal(store.saved[0]?.imageSha256, sha256(digit.bytes));
  });
});

describe('listHistory', () => {
  it('adds a presigned imageUrl to items whose upload was kept, null to the others', async () => {
    const store = new FakeStore([]);
    const kept = makeRecord({ imageKey: `uploads/ab/${SHA}.png`, imageSha256: SHA });
    const notKept = makeRecord({ imageKey: null });
    await store.save(notKept);
    await store.save(kept);

    const page = await listHistory(store, { limit: 20 }, { kind: 'operator' }, new FakeBucket([]));

    assert.deepEqual(
      page.items.map((item) => [item.id, item.imageUrl]),
      [
        [kept.id, `https://signed.example/uploads/ab/${SHA}.png?X-Amz-Expires=900`],
        [notKept.id, null],
      ],
    );
    assert.equal(page.nextCursor, null);
  });

  it('gives every item imageUrl null when no bucket is configured', async () => {
    const store = new FakeStore([]);
    await store.save(makeRecord({ imageKey: `uploads/ab/${SHA}.png` }));
    const page = await listHistory(store, { limit: 20 }, { kind: 'operator' });
    assert.deepEqual(
      page.items.map((item) => item.imageUrl),
      [null],
    );
  });
});
