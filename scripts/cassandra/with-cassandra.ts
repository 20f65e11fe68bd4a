/**
 * Runs a command against a real Cassandra node:
 *
 *   tsx scripts/cassandra/with-cassandra.ts -- <command> [args...]
 *
 * When CASSANDRA_CONTACT_POINTS is set the command runs against that cluster as it is. Otherwise a fresh
 * node is started on a free port with a throwaway data directory, the command runs with
 * CASSANDRA_CONTACT_POINTS and CASSANDRA_LOCAL_DC pointing at it, and the node is stopped afterwards
 * whatever the command's exit (success, failure, or a signal to this process). Exits with the command's code.
 */
import { spawn } from 'node:child_process';
import { type CassandraNode, startCassandra } from './launcher';

function parseCommand(argv: string[]): string[] {
  const dashdash = argv.indexOf('--');
  const command = dashdash >= 0 ? argv.slice(dashdash + 1) : argv;
  if (command.length === 0) throw new Error('usage: tsx scripts/cassandra/with-cassandra.ts -- <command> [args...]');
  return command;
}

async function main(): Promise<number> {
  const [cmd, ...args] = parseCommand(process.argv.slice(2));
  if (cmd === undefined) return 2;

  let node: CassandraNode | null = null;
  const env = { ...process.env };
  if (env.CASSANDRA_CONTACT_POINTS === undefined || env.CASSANDRA_CONTACT_POINTS.trim() === '') {
    // A signal during start-up stops the half-started node too.
    const starting = new AbortController();
    const abortStart = (): void => starting.abort();
    process.once('SIGINT', abortStart);
    process.once('SIGTERM', abortStart);
    try {
      node = await startCassandra({ signal: starting.signal, onProgress: (msg) => console.error(`[with-cassandra] ${msg}`) });
    } finally {
      process.removeListener('SIGINT', abortStart);
      process.removeListener('SIGTERM', abortStart);
    }
    env.CASSANDRA_CONTACT_POINTS = node.contactPoint;
    env.CASSANDRA_LOCAL_DC = node.localDataCenter;
  } else {
    console.error(`[with-cassandra] using CASSANDRA_CONTACT_POINTS=${env.CASSANDRA_CONTACT_POINTS}`);
  }

  const child = spawn(cmd, args, { stdio: 'inherit', env });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);

  const code = await new Promise<number>((resolve) => {
    child.once('error', (err: Error) => {
      console.error(`[with-cassandra] cannot run ${cmd}: ${err.message}`);
      resolve(127);
    });
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal !== null ? 128 + signalNumber(signal) : 1)));
  });

  if (node !== null) {
    console.error('[with-cassandra] stopping Cassandra…');
    await node.stop();
  }
  return code;
}

function signalNumber(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : 15;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[with-cassandra] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
