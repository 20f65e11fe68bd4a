/**
 * RETENTION_DAYS for serverless.yml: the one number the functions' environment, the Keyspaces tables' default
 * TTL and the uploads bucket's lifecycle rule are derived from, read and checked here once (a JS variable source,
 * `${file(resources/retention.js):<name>}`, because serverless variables cannot multiply). The functions read
 * the same variable through layers/config.ts, with the same bounds.
 */
const MAX_DAYS = 3650;

function days() {
  const raw = (process.env.RETENTION_DAYS ?? '').trim();
  if (raw === '') return 30;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_DAYS) {
    throw new Error(
      `RETENTION_DAYS=${JSON.stringify(raw)} is not a whole number of days from 0 to ${MAX_DAYS} (0 keeps predictions forever).`,
    );
  }
  return value;
}

module.exports = {
  days: () => String(days()),
  /** Keyspaces: a default TTL enables TTL on the tables (so the store's USING TTL is accepted) and backs it up; 0 = none. */
  keyspacesDefaultTtl: () => days() * 86_400,
  /** S3 rejects a lifecycle rule of 0 days: with 0, the rule is disabled instead. */
  uploadsLifecycleRules: () => [
    {
      Id: 'retention',
      Status: days() === 0 ? 'Disabled' : 'Enabled',
      Prefix: 'uploads/',
      ExpirationInDays: Math.max(1, days()),
    },
  ],
};
