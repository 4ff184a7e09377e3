import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PgPlacement } from './pg-placement.js';

// English server messages whatever the machine's locale (we wait for one).
const ENV = { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' };
const READY = 'database system is ready to accept connections';

function options(p: PgPlacement) {
  // The working directory must be one the server's user can enter (initdb
  // resolves its own path from it); the parent of the data dir is.
  return { cwd: path.dirname(p.dataDir), env: ENV, ...(p.user ? { uid: p.user.uid, gid: p.user.gid } : {}) };
}

interface InitdbOptions {
  user: string;
  password: string;
  flags: string[];
  onLog: (msg: string) => void;
}

/**
 * initdb, with the password in a file only the server's user may read, next
 * to the data dir (a place that user reaches; stdin is a socket initdb cannot open).
 */
export async function runInitdb(p: PgPlacement, o: InitdbOptions): Promise<void> {
  const pwfile = path.join(path.dirname(p.dataDir), `.pwfile-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${o.password}\n`, { mode: 0o600 });
  try {
    if (p.user) await chown(pwfile, p.user.uid, p.user.gid);
    await initdb(p, o, pwfile);
  } finally {
    await rm(pwfile, { force: true });
  }
}

function initdb(p: PgPlacement, o: InitdbOptions, pwfile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      path.join(p.binDir, 'initdb'),
      [`--pgdata=${p.dataDir}`, '--auth=scram-sha-256', `--username=${o.user}`, `--pwfile=${pwfile}`, '--lc-messages=C', ...o.flags],
      { ...options(p), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (c: Buffer) => o.onLog(c.toString()));
    child.stderr.on('data', (c: Buffer) => o.onLog(c.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`initdb exited with ${signal ?? `code ${code}`}`));
    });
  });
}

/** Starts the server and resolves once it accepts connections; rejects if it exits first. */
export function spawnPostgres(p: PgPlacement, o: { port: number; flags: string[]; onLog: (msg: string) => void }): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(p.binDir, 'postgres'), ['-D', p.dataDir, '-p', String(o.port), ...o.flags], {
      ...options(p),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let ready = false;
    const onOutput = (c: Buffer) => {
      const text = c.toString();
      o.onLog(text);
      if (!ready && text.includes(READY)) {
        ready = true;
        resolve(child);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`postgres exited with ${signal ?? `code ${code}`}`));
    });
  });
}
