/**
 * Talking to the API: the page's configuration (config.json, written beside the page when it is published
 * by scripts/page-publish.ts, never in this code), POST /predict and GET /history, and every answer that is
 * not a success turned into one ApiError.
 */
import type { HistoryPage, Prediction } from './api-types.js';

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
  constructor(readonly apiUrl: string) {}

  predict(file: Blob, filename: string): Promise<Prediction> {
    const form = new FormData();
    form.append('image', file, filename);
    return this.call<Prediction>('/predict', { method: 'POST', body: form });
  }

  history(options: { limit: number; digit: string; cursor: string | null }): Promise<HistoryPage> {
    const query = new URLSearchParams({ limit: String(options.limit) });
    if (options.digit !== '') query.set('digit', options.digit);
    if (options.cursor) query.set('cursor', options.cursor);
    return this.call<HistoryPage>(`/history?${query.toString()}`);
  }

  private async call<T>(path: string, init?: RequestInit): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.apiUrl}${path}`, init);
    } catch {
      throw new ApiError(0, 'network', 'The service could not be reached.');
    }
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
