// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time by function and
// by where the code lives (a package, node's core, or the service's own
// files), optionally only for samples inside a time window.
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time inside the window, in ms, idle excluded. */
  busyMs: number;
  windowMs: number;
  byOwner: { owner: string; ms: number }[];
  byFunction: { fn: string; owner: string; ms: number }[];
}

/** Who a frame belongs to: an npm package, node core, the service's own file, or V8 itself. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'V8/native';
  if (url.startsWith('node:')) return 'node core';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const own = /\/dist\/(src\/.+?)\.js$/.exec(url);
  if (own) return `service ${own[1]}`;
  return url.replace(/^file:\/\//, '');
}

/**
 * `window` is in ms relative to the profile's end (the profile ends when the
 * process exits): [endOffsetFromMs, endOffsetToMs] before the end.
 */
export async function summarize(file: string, window?: { fromEndMs: number; toEndMs: number }): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  const from = window ? p.endTime - window.fromEndMs * 1000 : -Infinity;
  const to = window ? p.endTime - window.toEndMs * 1000 : Infinity;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    // A sample's time is attributed to the node of the next sample's delta; close enough at 1 ms sampling.
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (t < from || t > to) continue;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
  }
  const owners = new Map<string, number>();
  const fns = new Map<string, { owner: string; us: number }>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const owner = ownerOf(url, functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const name = `${functionName || '(anonymous)'}${url ? ` ${url.split('/').slice(-1)[0]}:${lineNumber + 1}` : ''}`;
    const f = fns.get(name) ?? { owner, us: 0 };
    f.us += us;
    fns.set(name, f);
  }
  return {
    busyMs: busy / 1000,
    windowMs: window ? window.fromEndMs - window.toEndMs : (p.endTime - p.startTime) / 1000,
    byOwner: [...owners].map(([owner, us]) => ({ owner, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
    byFunction: [...fns].map(([fn, f]) => ({ fn, owner: f.owner, ms: f.us / 1000 })).sort((a, b) => b.ms - a.ms),
  };
}
