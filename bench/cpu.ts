/**
 * Where the CPU goes, for the load bench: per-thread CPU time of a process read from /proc (so a run can say
 * how many CPU milliseconds a request costs in the service's main thread, in its libuv and V8 helper threads,
 * and in Cassandra's JVM), and a V8 CPU profile (--cpu-prof) of the service's main thread summarised by
 * what the code belongs to (multipart parsing, preprocessing, inference, the store driver, serverless-offline).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU ms per thread name (threads of one name summed) of process `pid`; empty when it has gone. */
export function threadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The name sits in parentheses and may hold spaces; the fields after it are space-separated.
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
      const key = tid === String(pid) ? 'main' : name.replace(/[-_ ]?\d+$/, '').trim() || name;
      out[key] = (out[key] ?? 0) + (ticks * 1000) / TICKS_PER_SECOND;
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return out;
}

/**
 * CPU ms of process `pid` in all, from /proc/<pid>/stat: unlike the per-thread figures it keeps the time of
 * threads that have ended (libuv grows and shrinks its pool). null when the process has gone.
 */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Per-thread CPU used between two readings; a thread that ended in between is left out (see processCpuMs). */
export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) out[key] = Math.max(0, value - (before[key] ?? 0));
  return out;
}

export const sum = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** What a sampled function belongs to, from its script URL. */
export function categorise(url: string, functionName: string): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'native, outside JS (V8, libuv, I/O)';
  const u = url.replace(/\\/g, '/');
  if (/\/busboy\/|\/streamsearch\//.test(u)) return 'multipart parsing (busboy)';
  if (/layers\/(preprocess|image-format)/.test(u)) return 'preprocessing (JS pixel work)';
  if (/\/sharp\//.test(u)) return 'sharp (decode, resize, encode: calls into libvips)';
  // WebAssembly code here is TF.js's wasm backend (sharp's libvips is native code on its own threads).
  if (/@tensorflow/.test(u) || u.startsWith('wasm://')) return 'inference (TF.js)';
  if (/cassandra-driver|long\/|adm-zip/.test(u)) return 'store (cassandra-driver)';
  if (/serverless-offline|@hapi\/|\/hapi\/|\/boom\/|\/podium\/|\/shot\/|\/ammo\/|\/subtext\//.test(u))
    return 'serverless-offline (hapi, Lambda emulation)';
  if (/node_modules\/serverless\/|@serverless\//.test(u)) return 'serverless framework';
  if (u === 'node:inspector') return 'the profiler itself';
  if (/layers\/|functions\//.test(u)) return 'service code (handlers, log, store)';
  if (u.startsWith('node:') || u === '') return 'Node core (http, streams, buffers, crypto, JSON)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1];
  return pkg ? `other: ${pkg}` : `other: ${u.split('/').slice(-2).join('/')}`;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  byCategory: Record<string, number>;
  /** The functions with the most self time: what each category is made of. */
  topFunctions: Array<{ category: string; name: string; where: string; ms: number }>;
}

/** Self time per category in ms, from a V8 .cpuprofile, and the top functions. */
export function summariseProfile(profile: CpuProfile, top = 20): ProfileSummary {
  const nodeById = new Map<number, ProfileNode>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    nodeById.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  // A native function (no script URL: a C++ binding such as TensorFlow's op execution or sharp's pipeline,
  // or a V8 builtin) is charged to the code that called it.
  const callerUrl = (id: number): string => {
    for (let at = parentOf.get(id), hops = 0; at !== undefined && hops < 50; at = parentOf.get(at), hops += 1) {
      const url = nodeById.get(at)?.callFrame.url;
      if (url) return url;
    }
    return '';
  };
  const selfMs = new Map<number, number>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
  });
  const byCategory: Record<string, number> = {};
  const byFunction = new Map<string, { category: string; name: string; where: string; ms: number }>();
  for (const [id, ms] of selfMs) {
    const frame = nodeById.get(id)?.callFrame ?? { functionName: '(unknown)', url: '' };
    const special = frame.functionName.startsWith('(') && frame.functionName !== '(anonymous)';
    const category = categorise(frame.url || (special ? '' : callerUrl(id)), frame.functionName);
    byCategory[category] = (byCategory[category] ?? 0) + ms;
    const caller = frame.url ? '' : callerUrl(id);
    const short = (url: string): string => url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist\/)/, '$1');
    const where = frame.url ? short(frame.url) : caller ? `(native, called from ${short(caller)})` : '(native)';
    const key = `${frame.functionName}|${where}`;
    const entry = byFunction.get(key) ?? { category, name: frame.functionName || '(anonymous)', where, ms: 0 };
    entry.ms += ms;
    byFunction.set(key, entry);
  }
  const topFunctions = [...byFunction.values()]
    .filter((f) => f.category !== 'idle')
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
  return { totalMs, busyMs: totalMs - (byCategory.idle ?? 0), byCategory, topFunctions };
}
