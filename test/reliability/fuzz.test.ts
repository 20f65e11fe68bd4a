/**
 * Bad input at volume, long form (`npm run test:reliability`): 10,000 seeded random and mutated images and
 * multipart bodies over HTTP, from another seed than CI's 2,000. FUZZ_SEED=<n> reproduces a failing run.
 */
import { describeFuzz } from './fuzz-suite';

describeFuzz(10_000, 7);
