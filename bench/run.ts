// `npm run bench`: starts the real service processes over a fresh database
// and an S3 server, measures each target of issue 9 (and the SIGKILL recovery
// time of issue 8) against a baseline measured in the same run, and writes
// BENCHMARKS.md. See BENCHMARKS.md "How to run" for the flags.
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchContext, Section } from './lib/context.js';
import { Cluster, ROOT, WORK_DIR, WORKER_NODE_OPTIONS } from './lib/infra.js';
import { ffmpegVersion } from './lib/inputs.js';
import { cpuCount, HAS_GNU_TIME } from './lib/proc.js';
import { describeMachine, machineInfo, type SectionResult, table, verdict } from './lib/report.js';
import { buildPrototype, PROTOTYPES } from './prototypes.js';
import { apiSection } from './sections/api.js';
import { fairnessSection } from './sections/fairness.js';
import { fanoutSection } from './sections/fanout.js';
import { niceSection } from './sections/nice.js';
import { podcastSection } from './sections/podcast.js';
import { loudnessSection } from './sections/loudness.js';
import { profileSection } from './sections/profile.js';
import { recoverySection } from './sections/recovery.js';
import { throughputSection } from './sections/throughput.js';
import { voiceSection } from './sections/voice.js';
import { waveformSection } from './sections/waveform.js';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`the bench needs Node 24 (the project's), this is ${process.version}: run it with \`npm run bench\``);
  process.exit(2);
}

const SECTION_KEYS = ['voice', 'profile', 'throughput', 'podcast', 'loudness', 'recovery', 'api', 'fanout', 'fairness', 'waveform', 'nice'] as const;
type SectionKey = (typeof SECTION_KEYS)[number];
/** Order in BENCHMARKS.md: the targets 1-6, then recovery, then the profile. */
const REPORT_ORDER = ['podcast', 'memory', 'waveform', 'loudness', 'voice', 'throughput', 'api', 'quota', 'fanout', 'fairness', 'fairness-users', 'nice', 'recovery', 'profile'];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    'no-breakdown': { type: 'boolean', default: false },
    out: { type: 'string' },
    'database-url': { type: 'string' },
    prototype: { type: 'string' },
    render: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    ...Object.fromEntries(SECTION_KEYS.map((k) => [k, { type: 'boolean' as const, default: false }])),
    memory: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(`npm run bench -- [--quick] [--runs N] [--${SECTION_KEYS.join('] [--')}] [--only a,b] [--no-breakdown] [--out FILE] [--database-url URL]
  no section flag: all sections. --memory is an alias of --podcast (both come from the same runs).
  --prototype a,b: run the service from a patched copy (bench/prototypes.ts: ${Object.keys(PROTOTYPES).join(', ')});
    results go to .data/bench/BENCHMARKS.<prototype>.md, never BENCHMARKS.md.
  --quick: fewer and shorter runs to check the bench itself; writes .data/bench/BENCHMARKS.quick.md, not BENCHMARKS.md.
  --render: rewrite the markdown from the stored results (e.g. after editing bench/findings.md); runs nothing.`);
  process.exit(0);
}

const chosen = new Set<SectionKey>();
for (const k of SECTION_KEYS) if ((values as Record<string, unknown>)[k]) chosen.add(k);
if (values.memory) chosen.add('podcast');
for (const k of (values.only ?? '').split(',').filter(Boolean)) {
  const key = (k === 'memory' ? 'podcast' : k) as SectionKey;
  if (!SECTION_KEYS.includes(key)) {
    console.error(`unknown section "${k}": expected ${SECTION_KEYS.join(', ')}`);
    process.exit(2);
  }
  chosen.add(key);
}
const sections = SECTION_KEYS.filter((k) => chosen.size === 0 || chosen.has(k));
const quick = values.quick ?? false;
const runs = values.runs ? Number(values.runs) : quick ? 1 : 3;
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  console.error('--runs: expected a whole number from 1 to 20');
  process.exit(2);
}
const adminUrl = values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const prototypes = (values.prototype ?? '').split(',').filter(Boolean);
const variant = prototypes.length ? prototypes.join('+') : quick ? 'quick' : null;
const resultsFile = variant ? path.join(WORK_DIR, `results.${variant}${quick && prototypes.length ? '.quick' : ''}.json`) : path.join(ROOT, 'bench/results.json');
const outFile = values.out
  ? path.resolve(values.out)
  : variant ? path.join(WORK_DIR, `BENCHMARKS.${variant}${quick && prototypes.length ? '.quick' : ''}.md`) : path.join(ROOT, 'BENCHMARKS.md');

if (values.render) {
  // Rebuild the markdown from the stored results (after editing bench/findings.md), measuring nothing.
  await save([]);
  console.log(`wrote ${path.relative(process.cwd(), outFile)} from ${path.relative(process.cwd(), resultsFile)}`);
  process.exit(0);
}

const startedAt = Date.now();
const log = (msg: string) => console.log(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(5)} s] ${msg}`);

async function main(): Promise<void> {
  await mkdir(WORK_DIR, { recursive: true });
  const ffmpeg = await ffmpegVersion();
  log(`sections: ${sections.join(', ')}; runs: ${runs}${quick ? ' (quick)' : ''}; ${cpuCount()} CPUs; ${ffmpeg}`);
  if (!HAS_GNU_TIME) log('GNU time (/usr/bin/time) not found: CPU time and max RSS of bare ffmpeg runs are not reported (apt-get install time)');
  const proto = prototypes.length ? await buildPrototype(prototypes) : null;
  if (proto) log(`prototype: ${proto.description}`);
  const jwtSecret = `bench-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef0123456789`;
  const cluster = await Cluster.start({
    adminUrl,
    jwtSecret,
    ...(proto ? { mainJs: proto.mainJs } : {}),
    env: {
      // Spread over many users anyway; raised so the API bench measures work, not refusals.
      UPLOAD_RATE_LIMIT_PER_MINUTE: '1000000',
      // The 2-hour MP3 (115 MB) goes up in one presigned PUT: upload time is not what is measured.
      MULTIPART_THRESHOLD_BYTES: String(512 * 1024 * 1024),
    },
  });
  const scratch = await mkdtemp(path.join(tmpdir(), 'bench-scratch-'));
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: stopping everything');
    void cluster.stop().finally(() => process.exit(130));
  });
  const results: SectionResult[] = [];
  let failures = 0;
  try {
    const machine = describeMachine(machineInfo(ffmpeg, cluster.db.where, HAS_GNU_TIME)) + (proto ? `; PROTOTYPE ${proto.description}` : '');
    log(`database: ${cluster.db.where}; S3 server: ${cluster.s3.endpoint}`);
    // Quotas on, far above anything the bench uploads: every prepare takes the quota check (issue 21: < 1 ms of its p50).
    const api = await cluster.startService({
      role: 'api', name: 'api-1', env: { QUOTA_STORED_BYTES_PER_USER: String(2 ** 50), QUOTA_AUDIO_SECONDS_PER_DAY: String(10 ** 9) },
    });
    const ctx: BenchContext = { cluster, api, quick, runs, machine, scratch, log, token: (sub) => cluster.auth.sign(sub, 86400) };
    const run: Record<SectionKey, Section> = {
      voice: voiceSection,
      profile: profileSection,
      throughput: throughputSection,
      podcast: (c) => podcastSection(c, { breakdown: !values['no-breakdown'] && !quick }),
      loudness: loudnessSection,
      recovery: recoverySection,
      api: apiSection,
      fanout: fanoutSection,
      fairness: fairnessSection,
      waveform: waveformSection,
      nice: niceSection,
    };
    for (const key of sections) {
      if (interrupted) break;
      log(`== ${key}`);
      const t0 = Date.now();
      const loadBefore = os.loadavg()[0]!;
      let out: SectionResult[];
      try {
        out = await run[key](ctx);
      } catch (e) {
        // One section failing must not lose the others: say so in the report and go on.
        log(`== ${key} FAILED: ${(e as Error).stack ?? e}`);
        out = [{ key, title: `${key}: the bench section failed`, measuredAt: new Date().toISOString(), quick, machine: ctx.machine, targets: [],
          markdown: 'The section threw before it finished:\n\n```\n' + String((e as Error).stack ?? e).slice(0, 3000) + '\n```' }];
        failures++;
      }
      const loadAfter = os.loadavg()[0]!;
      for (const r of out) {
        r.markdown = `_Machine load (1-min load average) before/after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} on ${cpuCount()} CPUs._\n\n` + r.markdown;
        results.push(r);
        for (const t of r.targets) log(`   ${t.name}: ${t.target}: ${t.measured} -> ${verdict(t.met).replace(/\*/g, '')}`);
      }
      log(`== ${key} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      await save(results); // after every section, so a later failure keeps what was measured
    }
  } finally {
    await cluster.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  log(`wrote ${path.relative(process.cwd(), outFile)} (${results.length} result(s)) in ${((Date.now() - startedAt) / 60000).toFixed(1)} min`);
  if (failures) process.exitCode = 1;
}

async function save(fresh: SectionResult[]): Promise<void> {
  const all: Record<string, SectionResult> = existsSync(resultsFile) ? JSON.parse(await readFile(resultsFile, 'utf8')) : {};
  for (const r of fresh) all[r.key] = r;
  await mkdir(path.dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, JSON.stringify(all, null, 1) + '\n');
  await writeFile(outFile, await render(all));
}

async function render(all: Record<string, SectionResult>): Promise<string> {
  const ordered = REPORT_ORDER.map((k) => all[k]).filter((r): r is SectionResult => r !== undefined);
  const latest = [...ordered].sort((a, b) => b.measuredAt.localeCompare(a.measuredAt))[0];
  const summary = ordered.flatMap((r) => r.targets.map((t) => [t.name, t.target, t.measured, verdict(t.met), r.measuredAt.slice(0, 16).replace('T', ' ') + (r.quick ? ' (quick)' : '')]));
  // One line per distinct machine (the per-run database name and ffmpeg's copyright line left out).
  const tidy = (m: string) => m.replace(/, database bench_\w+/, '').replace(/ffmpeg version (\S+) Copyright[^;]*/, 'ffmpeg $1');
  const machines = [...new Set(ordered.map((r) => tidy(r.machine)))];
  const findingsFile = path.join(ROOT, 'bench/findings.md');
  const findings = existsSync(findingsFile) ? await readFile(findingsFile, 'utf8') : '';
  return [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (bench/run.ts) from bench/results.json, plus bench/findings.md. Edit those, not this file. -->',
    '',
    `Targets of issues 18-21 and 24 (with the earlier rounds' throughput, fan-out and recovery targets), measured by \`npm run bench\` against the real service ` +
      `processes (\`node dist/src/main.js --role api|worker\`, workers with \`NODE_OPTIONS=${WORKER_NODE_OPTIONS}\` as README and docker-compose.yml start them) over a fresh PostgreSQL database and an S3 server (s3rver, in its ` +
      `own process), everything on 127.0.0.1. Every time is a median over several runs (or a percentile over many samples) and, ` +
      `where it has one, a ratio against a baseline measured in the same run, because these machines are shared and noisy. ` +
      `Timing tools: node's clock, GNU time (\`/usr/bin/time -v\`) for the bare ffmpeg runs, /proc for CPU and memory, autocannon.`,
    '',
    '## How to run',
    '',
    '```sh',
    'npm run bench                        # everything (about 40 minutes on 2 CPUs; the 2-hour input is generated once, ~1.5 min)',
    'npm run bench -- --podcast           # one section: --podcast (targets 1+2), --loudness, --voice, --throughput, --api, --fanout, --fairness, --waveform, --nice, --recovery, --profile',
    'npm run bench -- --only voice,api    # several',
    'npm run bench -- --quick             # shorter inputs, 1 run: checks the bench; writes .data/bench/BENCHMARKS.quick.md',
    'npm run bench -- --runs 5            # more runs per median (the podcast section always makes at least 5 pairs)',
    'npm run bench -- --prototype <name> --throughput   # the service from a patched copy (bench/prototypes.ts); writes .data/bench/',
    'npm run bench -- --render            # rewrite this file from bench/results.json + bench/findings.md, measuring nothing',
    '```',
    '',
    'Database: `--database-url`, else `BENCH_DATABASE_URL`/`DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`; a ' +
      'database is created for the run and dropped after it (an embedded PostgreSQL when that server is unreachable). Inputs ' +
      'are cached in `.data/bench/inputs`, process logs go to `.data/bench/logs`, the CPU profile to `.data/bench/profile`. ' +
      'A section run alone replaces only its own part below; each part says when it was measured.',
    '',
    '## Machine',
    '',
    ...machines.map((m) => `- ${m}`),
    '',
    `Latest measurement: ${latest?.measuredAt ?? 'none'}.`,
    '',
    '## Targets',
    '',
    table(['target', 'wanted', 'measured (median)', 'result', 'measured at (UTC)'], summary),
    '',
    ...ordered.flatMap((r) => [`## ${r.title}`, '', `_Measured ${r.measuredAt.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ', quick mode (not for targets)' : ''}._`, '', r.markdown, '']),
    findings.trim() ? findings.trim() + '\n' : '',
  ].join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
