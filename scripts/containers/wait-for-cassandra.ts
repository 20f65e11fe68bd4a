/**
 * Waits until the Cassandra cluster in CASSANDRA_CONTACT_POINTS answers a query, then exits 0 (1 after
 * CASSANDRA_WAIT_SECONDS, default 300). The Compose stack's service runs it before `npm start`: podman-compose
 * 1.0 starts services in dependency order but ignores `condition: service_healthy`, so the service waits itself.
 */
import { Client } from 'cassandra-driver';

async function main(): Promise<void> {
  const points = (process.env.CASSANDRA_CONTACT_POINTS ?? '').split(',').filter((p) => p !== '');
  if (points.length === 0) throw new Error('CASSANDRA_CONTACT_POINTS is not set');
  const localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1';
  const deadline = Date.now() + Number(process.env.CASSANDRA_WAIT_SECONDS ?? 300) * 1000;
  let lastError = '';
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const client = new Client({ contactPoints: points, localDataCenter, socketOptions: { connectTimeout: 3000 } });
    try {
      const result = await client.execute('SELECT release_version FROM system.local');
      console.log(`[wait-for-cassandra] ${points.join(',')} answers (Cassandra ${String(result.first()?.get('release_version'))})`);
      return;
    } catch (err: unknown) {
      lastError = err instanceof Error ? err.message : String(err);
      if (attempt % 6 === 1) console.log(`[wait-for-cassandra] waiting for ${points.join(',')}: ${lastError}`);
    } finally {
      await client.shutdown().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  throw new Error(`Cassandra at ${points.join(',')} did not answer in time: ${lastError}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
