// Run by the memory section in a fresh node process: resident set after
// importing one group of modules (what a process of that role loads).
// argv[2]: worker-role (what `--role worker` imports: app.js, the job
// worker, the probe server), api-role (app.js + the API role), worker (the
// worker's own dependencies), api (the API stack), none.
import { readFileSync } from 'node:fs';

const group = process.argv[2] ?? 'none';
if (group === 'worker-role') {
  await import('../../src/app.js');
  await import('../../src/jobs/worker.js');
  await import('../../src/server/probe-http.js');
} else if (group === 'api-role') {
  await import('../../src/app.js');
  await import('../../src/server/api-role.js');
} else if (group === 'worker') {
  for (const m of ['reflect-metadata', 'pg-boss', '@mikro-orm/postgresql', '@mikro-orm/migrations', '@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner', 'file-type', 'pino']) await import(m);
  await import('../../src/db/audio-asset.entity.js');
} else if (group === 'api') {
  for (const m of ['@apollo/server', 'type-graphql', 'express', 'graphql-ws', 'ws']) await import(m);
}
await new Promise((r) => setTimeout(r, 300));
const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
console.log(JSON.stringify({ group, rssBytes: Number(rss) * 1024 }));
