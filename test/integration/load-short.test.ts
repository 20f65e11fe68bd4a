/**
 * Load without loss, short form for CI: 500 predictions at 16 connections on Cassandra, each answered 200 (or
 * refused as not a digit, every time, for the few pictures the refusal head turns away) and each accepted one
 * listed exactly once in /history. The full 10,000 run in `npm run test:reliability`.
 */
import { describeLoadWithoutLoss } from '../reliability/load-suite';

describeLoadWithoutLoss(500, 16);
