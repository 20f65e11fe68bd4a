/**
 * Faults, short form for CI: one stop (SIGTERM) and start of the Cassandra node during light load, on a node
 * of the test's own. The longer outage after SIGKILL and the three-node cluster run in `npm run test:reliability`.
 */
import { describeNodeOutage } from '../reliability/faults-suite';

describeNodeOutage({ kill: false, connections: 2, pauseMs: 20, beforeOk: 20, outageMs: 3000, afterOk: 20 });
