/**
 * The API's answers as the page reads them: the only file of the page that declares their shapes, so that
 * it can later be pointed at the service's contract (layers/contract/) with `import type` and nothing else
 * in the page changes. The page reads only the fields below; the API may send more.
 */

/** The answer of POST /predict. */
export interface Prediction {
  id: string;
  digit: number;
  confidence: number;
  probabilities: number[];
  filename: string;
  createdAt: string;
  modelVersion: string;
  /** The 28x28 picture the model saw, as a PNG data URL. */
  inputPreview: string;
}

/** One entry of GET /history: a prediction and a short-lived link to the kept original (null when none). */
export interface HistoryItem extends Prediction {
  imageUrl: string | null;
}

/** The answer of GET /history. */
export interface HistoryPage {
  items: HistoryItem[];
  nextCursor: string | null;
}

/** The body of every refusal. */
export interface ErrorBody {
  error: { code: string; message: string };
}
