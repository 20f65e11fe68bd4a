/** Small helpers the result and the history share for what they show. */

export function percent(value: number): string {
  return `${(value * 100).toFixed(value >= 0.9995 || value < 0.0005 ? 0 : 1)}%`;
}

/** Only images the service made itself (PNG data URLs) go into an img's src. */
export function isPngDataUrl(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('data:image/png;base64,');
}

/** The element with this id, which the page must have. */
export function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}
