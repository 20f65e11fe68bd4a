/*
 * Preloaded into the service process by the load bench (NODE_OPTIONS=--require, since Node refuses
 * --cpu-prof there): the first SIGUSR2 starts V8's sampling profiler on the main thread, the second stops it
 * and writes <BENCH_PROFILE_DIR>/<pid>.cpuprofile. Plain CommonJS so that it loads before anything else,
 * without a TypeScript loader in the measured process. Does nothing unless BENCH_PROFILE_DIR is set.
 */
'use strict';
const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const inspector = require('node:inspector');
  const { renameSync, writeFileSync } = require('node:fs');
  const { join } = require('node:path');
  const session = new inspector.Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (error, result) => {
      if (error || !result) return;
      const file = join(dir, `${process.pid}.cpuprofile`);
      writeFileSync(`${file}.partial`, JSON.stringify(result.profile));
      renameSync(`${file}.partial`, file);
    });
  });
}
