/**
 * Talking to the API: the page's configuration (config.json, written beside the page when it is published
 * by scripts/page-publish.ts, never in this code), POST /predict, GET /history, DELETE /predictions/{id}, POST
 * /predictions/{id}/label and GET /stats with the page's credentials (and an operator key checked before it is kept) (credentials.ts), and every answer that is not a success turned into one ApiError.
 */
import type { HistoryItem, HistoryPage, PredictionReceipt, StatsAnswer } from './api-types.js';
import type { Credentials } from './credentials.js';

/** Whose predictions a request is about: this browser's visitor, or everyone's with the operator key. */
export type Viewer = 'visitor' | 'operator';

/** A label as POST /predictions/{id}/label takes it: one digit, or a number of several. */
export type LabelBody = { digit: number } | { number: string };

/** What config.json holds. */
export interface PageConfig {
  apiUrl: string;
}

/** An answer from the API that is not a 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | undefined = undefined,
  ) {
    super(message);
  }
}

export async function loadConfig(): Promise<PageConfig> {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const body = (await response.json()) as Partial<PageConfig>;
  if (typeof body.apiUrl !== 'string' || !/^https?:\/\//.test(body.apiUrl)) throw new Error('config.json has no http(s) apiUrl');
  return { apiUrl: body.apiUrl.replace(/\/+$/, '') };
}

export class ApiClient {
  constructor(
    readonly apiUrl: string,
    private readonly credentials: Credentials,
  ) {}

  /**
   * Sends the picture as this browser's visitor and keeps the token the answer carries. A token the service
   * no longer accepts (its signing key was rotated) is dropped and the picture sent again as a new visitor.
   */
  async predict(file: Blob, filename: string): Promise<PredictionReceipt> {
    const send = (): Promise<PredictionReceipt> => {
      const form = new FormData();
      form.append('image', file, filename);
      return this.call('/predict', { method: 'POST', body: form, headers: this.auth('visitor') });
    };
    let prediction: PredictionReceipt;
    try {
      prediction = await send();
    } catch (error: unknown) {
      if (!(error instanceof ApiError && error.code === 'invalid_token' && this.credentials.visitorToken)) throw error;
      this.credentials.forgetVisitor();
      prediction = await send();
    }
    this.credentials.rememberVisitor(prediction.visitorToken);
    return prediction;
  }

  /** One page of `viewer`'s history; a visitor with no token yet has none (and nothing is asked). */
  async history(viewer: Viewer, options: { limit: number; digit: string; cursor: string | null }): Promise<HistoryPage> {
    if (viewer === 'visitor' && !this.credentials.visitorToken) return { items: [], nextCursor: null };
    const query = new URLSearchParams({ limit: String(options.limit) });
    if (options.digit !== '') query.set('digit', options.digit);
    if (options.cursor) query.set('cursor', options.cursor);
    return this.call<HistoryPage>(`/history?${query.toString()}`, { headers: this.auth(viewer) });
  }

  /** Erases one prediction (the visitor's own, or any with the operator key). */
  async erase(viewer: Viewer, id: string): Promise<void> {
    await this.call<null>(`/predictions/${encodeURIComponent(id)}`, { method: 'DELETE', headers: this.auth(viewer) });
  }

  /** Says what the prediction really shows (the visitor's own, or any with the operator key); answers it labelled. */
  async label(viewer: Viewer, id: string, body: LabelBody): Promise<HistoryItem> {
    return this.call<HistoryItem>(`/predictions/${encodeURIComponent(id)}/label`, {
      method: 'POST',
      headers: { ...this.auth(viewer), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** The operator's statistics for a range of days (YYYY-MM-DD; the service's default range when absent). */
  async stats(range: { from?: string; to?: string }): Promise<StatsAnswer> {
    const query = new URLSearchParams();
    if (range.from) query.set('from', range.from);
    if (range.to) query.set('to', range.to);
    const suffix = query.toString() === '' ? '' : `?${query.toString()}`;
    return this.call<StatsAnswer>(`/stats${suffix}`, { headers: this.auth('operator') });
  }

  /**
   * Whether the service takes `key` as the operator key, before the page keeps it or shows an operator view: asks
   * for today's statistics, which only the operator may read. Throws the ApiError of a refusal (401 for a wrong
   * key, 403 for a visitor's token) or of no answer.
   */
  async checkOperatorKey(key: string): Promise<void> {
    const today = new Date().toISOString().slice(0, 10);
    await this.call<StatsAnswer>(`/stats?from=${today}&to=${today}`, { headers: { authorization: `Bearer ${key}` } });
  }

  private auth(viewer: Viewer): Record<string, string> {
    const credential = viewer === 'operator' ? this.credentials.operatorKey : this.credentials.visitorToken;
    return credential ? { authorization: `Bearer ${credential}` } : {};
  }

  private async call<T>(path: string, init?: RequestInit): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.apiUrl}${path}`, init);
    } catch {
      throw new ApiError(0, 'network', 'The service could not be reached.');
    }
    if (response.status === 204) return null as T;
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.ok && body !== undefined) return body as T;
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const retryAfter = Number(response.headers.get('retry-after') ?? '');
    throw new ApiError(
      response.status,
      typeof error?.code === 'string' ? error.code : 'unknown',
      typeof error?.message === 'string' ? error.message : `The service answered ${response.status}.`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
  }
}
