/**
 * The parsers every setting goes through, one per kind, so that a boolean is spelt the same way in every
 * variable, a number is checked the same way, and every refusal names the variable, its value and what was
 * expected. Used by the configuration (layers/config/config.ts) and by the Cassandra settings it reads
 * (layers/store/cassandra/config.ts). Only those two modules see the environment.
 */

export type Env = Record<string, string | undefined>;

/** A missing or malformed setting; thrown at cold start, its message naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The variable's value without surrounding blanks, or undefined when it is unset or blank. */
export function readString(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

/** The spellings of a boolean setting, whatever the case: `true` or `1`, `false` or `0`. */
const TRUE = ['true', '1'];
const FALSE = ['false', '0'];

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if (TRUE.includes(raw.toLowerCase())) return true;
  if (FALSE.includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name}=${JSON.stringify(env[name])} is not a boolean: set true or false.`);
}

export interface IntBounds {
  /** 1 unless given. */
  min?: number;
  max?: number;
  /** What the number counts (e.g. "milliseconds"), for the message. */
  unit?: string;
  /** Why the bounds are what they are, for the message. */
  why?: string;
}

/** A whole number within bounds (by default any positive integer). */
export function readInt(env: Env, name: string, fallback: number, bounds: IntBounds = {}): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const min = bounds.min ?? 1;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  const value = Number(raw);
  if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
  const what =
    bounds.min === undefined && bounds.max === undefined
      ? 'a positive integer'
      : `a whole number${bounds.unit ? ` of ${bounds.unit}` : ''} from ${min} to ${max}`;
  throw new ConfigError(`${name}=${JSON.stringify(env[name])} is not ${what}${bounds.why ? ` (${bounds.why})` : ''}.`);
}

/** One of a fixed set of names, whatever the case; answered in the set's own spelling. */
export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const found = allowed.find((value) => value.toLowerCase() === raw.toLowerCase());
  if (found !== undefined) return found;
  throw new ConfigError(`${name}=${JSON.stringify(env[name])} is not one of ${allowed.join(', ')}.`);
}
