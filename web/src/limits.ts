/**
 * The service's limits as the page states and checks them: one place for the number and for the words
 * (MiB, as the API says it), so the hint, the messages and the check before sending cannot disagree.
 * The page may import only types from the contract (layers/contract/limits.ts), so these are typed with the
 * contract's literal values: the compiler refuses a copy that drifts. test/unit/page-limits.test.ts checks
 * them at run time too.
 */
import type * as contract from '../../layers/contract';

/** Largest upload, in MiB: the 6 MB Lambda payload limit once API Gateway base64-encodes the body. */
export const MAX_UPLOAD_MIB = 4.5;
/** The same in bytes: the service's MAX_UPLOAD_BYTES, checked here so a person is not made to wait for a refusal. */
export const MAX_UPLOAD_BYTES: typeof contract.MAX_UPLOAD_BYTES = 4_718_592;
/** How the page writes the upload limit, everywhere it does. */
export const MAX_UPLOAD_LABEL: typeof contract.MAX_UPLOAD_TEXT = '4.5 MiB';

/** Largest picture the service decodes, in megapixels (read from the header). */
export const MAX_MEGAPIXELS = 25;

/** The most digits a label may have: the service's MAX_DIGITS. */
export const MAX_DIGITS: typeof contract.MAX_DIGITS = 12;
