/**
 * What the page holds to prove who it is: the visitor token POST /predict issued (localStorage: this browser's
 * predictions stay its own across visits) and, while the operator view is open, the operator key (sessionStorage
 * only: gone when the tab closes, never written where another tab or a later visit finds it). A storage the
 * browser refuses (private modes, blocked cookies) is survived: the page then simply forgets.
 */

const VISITOR_KEY = 'digit.visitorToken';
const OPERATOR_KEY = 'digit.operatorKey';
/** The shape of a visitor token (layers/contract/api.ts VisitorToken); anything else in storage is dropped. */
const VISITOR_TOKEN = /^v1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

function read(storage: () => Storage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null;
  }
}

function write(storage: () => Storage, key: string, value: string | null): void {
  try {
    if (value === null) storage().removeItem(key);
    else storage().setItem(key, value);
  } catch {
    // Nowhere to keep it: it lasts as long as the page does.
  }
}

export class Credentials {
  private visitor: string | null;
  private operator: string | null;

  constructor() {
    const stored = read(() => localStorage, VISITOR_KEY);
    this.visitor = stored !== null && VISITOR_TOKEN.test(stored) ? stored : null;
    this.operator = read(() => sessionStorage, OPERATOR_KEY);
  }

  get visitorToken(): string | null {
    return this.visitor;
  }

  /** The token the last prediction answered with (the same visitor's, re-signed after a key rotation). */
  rememberVisitor(token: string): void {
    if (!VISITOR_TOKEN.test(token)) return;
    this.visitor = token;
    write(() => localStorage, VISITOR_KEY, token);
  }

  /** The service no longer accepts the token (its key was rotated): the next prediction starts a new visitor. */
  forgetVisitor(): void {
    this.visitor = null;
    write(() => localStorage, VISITOR_KEY, null);
  }

  get operatorKey(): string | null {
    return this.operator;
  }

  setOperatorKey(key: string | null): void {
    this.operator = key === null || key.trim() === '' ? null : key.trim();
    write(() => sessionStorage, OPERATOR_KEY, this.operator);
  }
}
