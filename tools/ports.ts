/**
 * Free TCP ports for whatever a test, bench or script starts (serverless-offline, Cassandra, a closed port
 * to be refused by): the fixed ports 3000, 3002, 4569 and 9042 belong to a developer's `npm start`.
 */
import { createServer } from 'node:net';

/**
 * A TCP port nothing listens on now, on `address`. Another process may take it before the caller binds it:
 * starters that use it try again on EADDRINUSE (tools/service.ts).
 */
export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, address, () => {
      const info = server.address();
      server.close(() => (typeof info === 'object' && info !== null ? resolve(info.port) : reject(new Error('no port was assigned'))));
    });
  });
}
