// Prototypes of changes to the service, measured without touching src/: each
// copies the compiled service (dist/src, dist/web) to .data/bench/prototypes/
// <name>/ and applies a textual patch to the compiled JavaScript. Run one with
// `npm run bench -- --prototype <name> --throughput` (any sections); the
// report then says which prototype the service processes ran. A patch that no
// longer matches the compiled code fails loudly: the code moved on, so the
// prototype must be updated (or the change was applied).
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, WORK_DIR } from './lib/infra.js';

interface Patch {
  file: string;
  find: string | RegExp;
  replace: string;
}

export interface Prototype {
  description: string;
  patches: Patch[];
}

// Both earlier prototypes were applied to src/ (BENCHMARKS.md findings):
// `pickup` (each worker slot wakes itself after a job: src/jobs/worker.ts) and
// `apollo-signals` (stopOnTerminationSignals: false: src/server/http.ts).
// Add the next one here as { description, patches }; one may also undo a
// change, to measure its "before" in the same session.
export const PROTOTYPES: Record<string, Prototype> = {
  // The "before" of pipelining (bench/findings.md §10): measured beside the real thing.
  'one-process': {
    description: 'every job runs as one ffmpeg process, as before pipelining (a long job alone on its worker is not split into decoder | encoder)',
    patches: [{ file: 'src/media/run.js', find: 'const SPARE_CORES = availableParallelism() > 1;', replace: 'const SPARE_CORES = false;' }],
  },
  // Does a lone long job lose time to its nice 19? bench/findings.md 21; the same-run A/B (section nice, findings 22) says no.
  'long-nice-10': {
    description: "a long file's ffmpeg runs at a voice note's nice level (10) instead of 19",
    patches: [{ file: 'src/domain/fairness.js', find: 'export const LONG_JOB_NICE = 19;', replace: 'export const LONG_JOB_NICE = 10;' }],
  },
};

/** Builds the prototype's copy of the service; returns the path of its main.js. */
export async function buildPrototype(names: string[]): Promise<{ mainJs: string; description: string }> {
  const dir = path.join(WORK_DIR, 'prototypes', names.join('+'));
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['src', 'web']) await cp(path.join(ROOT, 'dist', sub), path.join(dir, 'dist', sub), { recursive: true });
  const descriptions: string[] = [];
  for (const name of names) {
    const proto = PROTOTYPES[name];
    if (!proto) throw new Error(`unknown prototype "${name}": expected ${Object.keys(PROTOTYPES).join(', ')}`);
    for (const p of proto.patches) {
      const file = path.join(dir, 'dist', p.file);
      const text = await readFile(file, 'utf8');
      const found = typeof p.find === 'string' ? text.includes(p.find) : p.find.test(text);
      if (!found) throw new Error(`prototype "${name}": dist/${p.file} no longer contains ${String(p.find)}; update bench/prototypes.ts`);
      await writeFile(file, text.replace(p.find, p.replace));
    }
    descriptions.push(`\`${name}\`: ${proto.description}`);
  }
  return { mainJs: path.join(dir, 'dist/src/main.js'), description: descriptions.join('; ') };
}
