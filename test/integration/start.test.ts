import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../../src/embedded/free-port.js';
import { waitFor } from '../helpers/processes.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
const run = promisify(execFile);
/** The environment of a fresh machine: nothing of ours configured. */
const bareEnv = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...extra });

describe('npm start (node dist/src/main.js) with nothing configured', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('starts embedded PostgreSQL and S3, prints a working dev token, answers /healthz, and stops cleanly on SIGTERM', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'start-data-'));
    await chmod(dataDir, 0o755); // as root, embedded PostgreSQL runs as the postgres user
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    let output = '';
    const child: ChildProcess = spawn(process.execPath, [MAIN], {
      env: bareEnv({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(async () => void child.kill('SIGKILL'));
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

    const url = `http://127.0.0.1:${port}`;
    await waitFor('/healthz 200', async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok, 90_000);
    const token = await waitFor('the printed dev token', async () => /Bearer (\S+)/.exec(output)?.[1], 5_000);
    assert.match(output, new RegExp(`${url}/graphql`));
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ assets { nodes { id } } }' }),
    });
    assert.deepEqual(await res.json(), { data: { assets: { nodes: [] } } });

    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
  });

  it('refuses a bad value with a message naming the variable, and prints the effective config with secrets masked', async () => {
    const bad = await run(process.execPath, [MAIN], { env: bareEnv({ PORT: 'eighty' }) }).catch((e) => e);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /PORT="eighty": expected a whole number/);
    const prod = await run(process.execPath, [MAIN], { env: bareEnv({ NODE_ENV: 'production' }) }).catch((e) => e);
    assert.equal(prod.code, 2);
    assert.match(prod.stderr, /AUTH_JWT_SECRET or AUTH_JWKS_URL: required when NODE_ENV=production/);
    const { stdout } = await run(process.execPath, [MAIN, '--print-config'], {
      env: bareEnv({ AUTH_JWT_SECRET: 's'.repeat(40), DATABASE_URL: 'postgres://app:hunter2@db/audio' }),
    });
    const printed = JSON.parse(stdout);
    assert.equal(printed.authJwtSecret, '***');
    assert.equal(printed.databaseUrl, 'postgres://app:***@db/audio');
    assert.ok(!stdout.includes('hunter2') && !stdout.includes('s'.repeat(40)));
    const role = await run(process.execPath, [MAIN, '--role', 'bogus']).catch((e) => e);
    assert.equal(role.code, 2);
    assert.match(role.stderr, /--role=bogus: expected one of api, worker, all/);
  });
});
