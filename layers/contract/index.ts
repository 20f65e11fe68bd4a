/**
 * The API contract: shapes (api.ts, stats.ts), error codes (errors.ts) and limits (limits.ts). Handlers and layers
 * import values from here; the page imports types only (see tsconfig.json beside this file). The OpenAPI
 * document is built from these by ./openapi.ts, kept apart so that only the function serving it loads the
 * generator.
 */
export * from './api';
export * from './errors';
export * from './limits';
export * from './stats';
