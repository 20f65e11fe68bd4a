/**
 * Runs a command whose servers listen on 127.0.0.1 only (serverless-offline and the local S3 server of `npm start`)
 * and makes the given ports reachable on the container's own addresses: for each port, a TCP relay listens on every
 * non-loopback IPv4 address of the container (same port number, other address) and pipes each connection to
 * 127.0.0.1. A published port (`127.0.0.1:3000:3000` in docker-compose.yml) then reaches the loopback server, and
 * the URLs the service hands out (the page's API address, presigned bucket URLs) stay http://127.0.0.1:<port>, right
 * for a browser on the host. Exits with the command's status; SIGTERM/SIGINT are passed on to it.
 *
 *   tsx scripts/containers/loopback-relay.ts --ports 3000,4569 -- npm start
 */
import { spawn } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';

function containerAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((info) => info !== undefined && info.family === 'IPv4' && !info.internal)
    .map((info) => info?.address ?? '')
    .filter((address) => address !== '');
}

function relay(address: string, port: number): Promise<Server> {
  const server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    // A server not listening yet, or a peer gone: drop both ends, the client retries.
    const close = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close);
    outbound.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve(server));
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { ports: { type: 'string' } } });
  const ports = (values.ports ?? '')
    .split(',')
    .filter((p) => p !== '')
    .map(Number);
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new Error(`--ports must list TCP ports, got ${values.ports}`);
  }
  const [command, ...args] = positionals;
  if (command === undefined) throw new Error('usage: loopback-relay.ts --ports P1,P2 -- command [args...]');

  const addresses = containerAddresses();
  for (const address of addresses) for (const port of ports) await relay(address, port);
  console.log(`[relay] ${addresses.join(', ')} port(s) ${ports.join(', ')} -> 127.0.0.1`);

  const child = spawn(command, args, { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
