/**
 * The API's answers as the page reads them, from the service's contract (layers/contract/): the only file
 * of the page that names their shapes. `import type` only: the page is compiled into browser modules on its
 * own (web/tsconfig.json references the contract's declaration-only project), and types are erased.
 */
export type {
  ErrorBody,
  HistoryItem,
  HistoryPage,
  Label,
  PredictionAnswer as Prediction,
  PredictionReceipt,
  StatsAnswer,
  StatsFigures,
} from '../../layers/contract';
