/**
 * Load without loss, full form (`npm run test:reliability`): 10,000 predictions at 16 connections on
 * Cassandra: no 5xx, and afterwards /history holds exactly those 10,000 ids, each once.
 */
import { describeLoadWithoutLoss } from './load-suite';

describeLoadWithoutLoss(10_000, 16);
