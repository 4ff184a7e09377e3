import { mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Per-job private temp dirs, named after the worker's pid so that a worker
 * starting up can remove what a crashed (SIGKILLed) worker left behind
 * without touching the dirs of workers still alive on the same machine.
 */
const PREFIX = 'audio-job-';

export function makeJobDir(tmpDir: string, assetId: string): Promise<string> {
  return mkdtemp(path.join(tmpDir, `${PREFIX}${process.pid}-${assetId}-`));
}

function isAlive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes job dirs of workers that no longer run; returns what it removed. */
export async function removeDeadWorkersJobDirs(tmpDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    await rm(path.join(tmpDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
