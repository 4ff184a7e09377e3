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

export const PROTOTYPES: Record<string, Prototype> = {
  // pg-boss 12 with NOTIFY waits notifyPollingIntervalSeconds (default 30 s)
  // after every job unless a NOTIFY arrived while the job ran, so a backlog
  // drains at one job per slot per 30 s once the burst's NOTIFYs are spent.
  // One work() per slot, each waking itself (notifyWorker) after its job, makes
  // a slot fetch again at once; an empty fetch then waits for NOTIFY as before.
  // Retries (after a crash: heartbeat) are announced by no NOTIFY, so the
  // backstop poll is what picks them up: 2 s instead of 30 s.
  pickup: {
    description:
      'one pg-boss work() per concurrency slot; each slot calls boss.notifyWorker(itself) after every job, so it fetches the next job at once ' +
      'instead of after the 30-s notify-mode poll; notifyPollingIntervalSeconds: 2 as the backstop for jobs no NOTIFY announces (retries)',
    patches: [
      {
        // Whatever options the process-audio work() has now, the handler becomes a function...
        file: 'src/jobs/worker.js',
        find: /await d\.boss\.work\(PROCESS_AUDIO_QUEUE, \{[\s\S]*?\}, async \(\[job\]\) => \{/,
        replace: 'const handleAudioJob = async ([job]) => {',
      },
      {
        file: 'src/jobs/worker.js',
        find: /\n {4}\}\);\n(\s*)await d\.boss\.work\(SWEEP_QUEUE/,
        replace:
          // ...run by one work() per slot.
          '\n    };\n' +
          '    for (let slot = 0; slot < d.config.workerConcurrency; slot++) {\n' +
          '        let ownId = null;\n' +
          '        ownId = await d.boss.work(PROCESS_AUDIO_QUEUE, { batchSize: 1, notifyPollingIntervalSeconds: 2 }, async (jobs) => {\n' +
          '            try { await handleAudioJob(jobs); } finally { if (ownId) d.boss.notifyWorker(ownId); }\n' +
          '        });\n' +
          '    }\n$1await d.boss.work(SWEEP_QUEUE',
      },
    ],
  },
  // Apollo Server installs its own SIGINT/SIGTERM handlers (stopOnTerminationSignals
  // defaults to true outside NODE_ENV=test); racing main.ts's handler, an API
  // process never exits on SIGTERM.
  'apollo-signals': {
    description: 'new ApolloServer({ stopOnTerminationSignals: false, ... }): main.ts alone handles SIGTERM',
    patches: [{ file: 'src/server/http.js', find: 'apollo = new ApolloServer({', replace: 'apollo = new ApolloServer({ stopOnTerminationSignals: false,' }],
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
