/**
 * Keeping an upload: one S3 PutObject as one signed HTTP request, on a kept-alive connection. The SDK's client
 * (kept for everything else the bucket does: presigned URLs, reads, deletes) spent 1.7 ms of CPU on each
 * PutObject here, most of it in its generic machinery (schema serialisation, endpoint rules, retry and
 * middleware bookkeeping, `npx tsx bench/profile.ts`); this request is the same bytes on the wire, signed by the
 * SDK's own Signature V4 signer with the SDK client's own credentials and region, for a fraction of that.
 *
 * What it sends: PUT /<key> (virtual-hosted on S3, path-style on a local endpoint) with Content-Type,
 * Content-Length, Cache-Control, x-amz-checksum-sha256 (S3 refuses bytes that do not hash to it) and
 * x-amz-content-sha256 (the signed payload hash: the same digest, which the service has already).
 * Bounded like the client was: two attempts (a connection error or a 5xx is tried once more, the write being
 * idempotent under its content-derived key) and a time limit on each.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';

function toBuffer(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

/** SHA-256 for the signer, from node:crypto (what @smithy/hash-node does). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** An S3 answer other than 2xx, or no answer in time. */
export class S3PutError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'S3PutError';
  }
}

export interface PutTarget {
  bucket: string;
  /** A local S3-compatible endpoint (path-style URLs); AWS's regional endpoint (virtual-hosted) when absent. */
  endpoint: string | undefined;
  forcePathStyle: boolean;
}

/** Each attempt's limit: far above a healthy put (a few ms locally, 15-30 ms in a region), far below predict's 15 s. */
export const PUT_ATTEMPT_TIMEOUT_MS = 5_000;
const ATTEMPTS = 2;

export class DirectPut {
  private readonly signer: SignatureV4;
  private readonly agent: http.Agent;
  private readonly region: () => Promise<string>;

  constructor(
    client: S3Client,
    private readonly target: PutTarget,
    private readonly timeoutMs = PUT_ATTEMPT_TIMEOUT_MS,
  ) {
    // The client's own resolved credentials (memoised and refreshed by the SDK: the Lambda role's in the cloud)
    // and region.
    this.region = client.config.region;
    this.signer = new SignatureV4({
      credentials: client.config.credentials,
      region: client.config.region,
      service: 's3',
      sha256: NodeSha256,
      // S3 signs the path as sent: keys here are `uploads/<hex>/<hex>.<ext>`, nothing to escape twice.
      uriEscapePath: false,
      applyChecksum: false,
    });
    const secure = this.url('k').protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 50 }) : new http.Agent({ keepAlive: true, maxSockets: 50 });
  }

  /** Writes the object; resolves once S3 has acknowledged it (200). */
  async put(key: string, bytes: Buffer, contentType: string, sha256Hex: string): Promise<void> {
    const region = await this.region();
    let last: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      try {
        await this.once(key, bytes, contentType, sha256Hex, region);
        return;
      } catch (error: unknown) {
        last = error;
        const status = error instanceof S3PutError ? error.status : undefined;
        // A refusal (403, 400: a wrong checksum, a missing bucket) is an answer; only trouble is tried again.
        if (status !== undefined && status < 500) throw error;
      }
    }
    throw last;
  }

  private url(key: string, region = 'us-east-1'): URL {
    const { bucket, endpoint, forcePathStyle } = this.target;
    if (endpoint) {
      const base = endpoint.replace(/\/+$/, '');
      return new URL(forcePathStyle ? `${base}/${bucket}/${key}` : `${base.replace('://', `://${bucket}.`)}/${key}`);
    }
    return new URL(`https://${bucket}.s3.${region}.amazonaws.com/${key}`);
  }

  private async once(key: string, bytes: Buffer, contentType: string, sha256Hex: string, region: string): Promise<void> {
    const url = this.url(key, region);
    const signed = await this.signer.sign({
      method: 'PUT',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-type': contentType,
        'content-length': String(bytes.length),
        'cache-control': 'private, max-age=31536000, immutable',
        'x-amz-checksum-sha256': Buffer.from(sha256Hex, 'hex').toString('base64'),
        'x-amz-content-sha256': sha256Hex,
      },
      body: bytes,
    });
    await new Promise<void>((resolve, reject) => {
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        { method: 'PUT', headers: signed.headers, agent: this.agent, timeout: this.timeoutMs },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else {
              const code = /<Code>([^<]{1,100})<\/Code>/.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? 'no code';
              reject(new S3PutError(`S3 answered ${status} (${code}) to PUT ${url.pathname}`, status));
            }
          });
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new S3PutError(`no answer from S3 within ${this.timeoutMs} ms`, undefined)));
      request.on('error', reject);
      request.end(bytes);
    });
  }
}
