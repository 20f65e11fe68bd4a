/**
 * Bad input at volume, in CI: 2,000 seeded random and mutated images and multipart bodies over HTTP (about
 * 30 s here). `npm run test:reliability` runs 10,000 more from another seed. FUZZ_SEED=<n> reproduces a run.
 */
import { describeFuzz } from '../reliability/fuzz-suite';

describeFuzz(2000, 20261121);
