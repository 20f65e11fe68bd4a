/**
 * Opens the labelled predictions where the service keeps them, for `npm run model:train -- --with-labels` and
 * `npm run model:evaluate`: the store the configuration names (createStore: SQLite or Cassandra) and the uploads
 * bucket it names (UPLOADS_BUCKET and the S3_* settings). Without UPLOADS_BUCKET, the bucket `npm start` runs
 * locally (digit-uploads on 127.0.0.1:4569, its key pair in .local/s3-credentials.json), so that a developer's
 * local labels need no extra setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig, UploadsBucketConfig } from '#config/config';
import { projectRoot } from '#config/project-root';
import { createStore } from '#store/create-store';
import { createUploadsBucket, type UploadsReader } from '#uploads/bucket';
import { type CollectOptions, collectLabelled, type LabelledData, type LabelledSource, storeLabelledSource } from './labelled';

/** `npm start`'s local uploads bucket (scripts/start.ts, scripts/s3-local.ts), with its default port. */
export function localUploadsConfig(root = projectRoot()): UploadsBucketConfig | undefined {
  const file = join(root, '.local', 's3-credentials.json');
  if (!existsSync(file)) return undefined;
  const credentials = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  return {
    bucket: 'digit-uploads',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:4569',
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    urlTtlSeconds: 900,
  };
}

function uploadsReader(config: AppConfig): { reader: UploadsReader; where: string } {
  const bucket = config.uploads ?? localUploadsConfig();
  if (!bucket) {
    throw new Error(
      'no uploads bucket to read the labelled pictures from: set UPLOADS_BUCKET (and S3_ENDPOINT, S3_ACCESS_KEY_ID, ' +
        'S3_SECRET_ACCESS_KEY for a local server), or run `npm start` once so that its local bucket exists',
    );
  }
  const reader = createUploadsBucket(bucket);
  const where = `bucket ${bucket.bucket}${bucket.endpoint ? ` on ${bucket.endpoint}` : ''}`;
  return {
    where,
    reader: {
      get: async (key) => {
        try {
          return await reader.get(key);
        } catch (error: unknown) {
          throw new Error(`the uploads ${where} does not answer (is \`npm start\` running?): ${(error as Error).message}`);
        }
      },
    },
  };
}

/**
 * The configured store's labelled predictions with their kept uploads, for `use`; the store is closed after. The
 * classifier's retraining and evaluation (readLabelled) and the reader's (model/reader/labelled.ts) read through it.
 */
export async function withLabelledSource<T>(config: AppConfig, use: (source: LabelledSource) => Promise<T>): Promise<T> {
  const { reader, where } = uploadsReader(config);
  const store = await createStore(config);
  process.stderr.write(`reading labelled predictions from the ${config.store} store, pictures from the uploads ${where}\n`);
  try {
    return await use(storeLabelledSource(store, reader));
  } finally {
    await store.close();
  }
}

/** Reads and splits every labelled prediction of the configured store; closes the store after. */
export async function readLabelled(config: AppConfig, options: CollectOptions = {}): Promise<LabelledData> {
  return withLabelledSource(config, (source) =>
    collectLabelled(source, {
      ...options,
      onSkip:
        options.onSkip ??
        ((record, reason, detail) => process.stderr.write(`  skipped ${record.id} (label ${record.label.number}): ${reason}: ${detail}\n`)),
    }),
  );
}
