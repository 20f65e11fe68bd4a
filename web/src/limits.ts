/**
 * The service's limits as the page states and checks them: one place for the number and for the words
 * (MiB, as the API says it), so the hint, the messages and the check before sending cannot disagree.
 * test/unit/page-limits.test.ts holds them equal to the service's own (layers/config.ts, preprocessing).
 */

/** Largest upload, in MiB: the 6 MB Lambda payload limit once API Gateway base64-encodes the body. */
export const MAX_UPLOAD_MIB = 4.5;
/** The same in bytes: the service's MAX_UPLOAD_BYTES, checked here so a person is not made to wait for a refusal. */
export const MAX_UPLOAD_BYTES = Math.floor(MAX_UPLOAD_MIB * 1024 * 1024);
/** How the page writes the upload limit, everywhere it does. */
export const MAX_UPLOAD_LABEL = `${MAX_UPLOAD_MIB} MiB`;

/** Largest picture the service decodes, in megapixels (read from the header). */
export const MAX_MEGAPIXELS = 25;
