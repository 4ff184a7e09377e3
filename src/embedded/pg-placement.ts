import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, chmod, chown, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedPostgresError } from './pg-error.js';

/** Who PostgreSQL runs as when we are root (it refuses to run as root). */
export interface PgUser {
  uid: number;
  gid: number;
}

/** Where the binaries and the data directory are, and the user to run as (none: as ourselves). */
export interface PgPlacement {
  binDir: string;
  dataDir: string;
  user?: PgUser;
}

/**
 * Root's copies of the binaries and of data directories that the `postgres`
 * user could not reach where they were asked for (a clone under /root, mode
 * 0700): a system place every user can enter, kept across runs.
 */
export const ROOT_HOME = '/var/lib/audio-service';

export interface DirInfo {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * Whether `who` may enter every directory of a path (each given root first):
 * search permission for owner, group or others, as the kernel checks it.
 */
export function canTraverse(dirs: DirInfo[], who: PgUser): boolean {
  return dirs.every((d) => {
    if (d.uid === who.uid) return (d.mode & 0o100) !== 0;
    if (d.gid === who.gid) return (d.mode & 0o010) !== 0;
    return (d.mode & 0o001) !== 0;
  });
}

/** The directory itself and every parent up to `/`, root first. */
export function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    out.unshift(d);
    if (path.dirname(d) === d) return out;
  }
}

/** The existing part of a path's chain, statted. */
async function chainInfo(dir: string): Promise<DirInfo[]> {
  const infos: DirInfo[] = [];
  for (const d of ancestors(dir)) {
    const s = await stat(d).catch(() => undefined);
    if (!s) break; // created later by us, as root, with mode 0755
    infos.push({ mode: s.mode, uid: s.uid, gid: s.gid });
  }
  return infos;
}

/**
 * As root: the `postgres` user (created if missing), binaries it can execute,
 * and a data directory it owns. Either stays where it is when that user can
 * reach it; otherwise binaries are copied once under ROOT_HOME, and the data
 * directory lives there under a name derived from the one asked for.
 */
export async function placeForRoot(nativeDir: string, version: string, dataDir: string): Promise<PgPlacement> {
  const user = await postgresUser();
  let binDir = path.join(nativeDir, 'bin');
  if (!canTraverse(await chainInfo(nativeDir), user)) {
    binDir = path.join(await systemCopy(nativeDir, version), 'bin');
  }
  let placedData = dataDir;
  if (!canTraverse(await chainInfo(path.dirname(dataDir)), user)) placedData = relocatedDataDir(dataDir);
  await mkdir(path.dirname(placedData), { recursive: true, mode: 0o755 });
  return { binDir, dataDir: placedData, user };
}

/** Where root keeps a data directory the `postgres` user cannot reach where it was asked for. */
export function relocatedDataDir(dataDir: string): string {
  const id = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return path.join(ROOT_HOME, 'data', id, 'postgres');
}

/** Copies the binaries to ROOT_HOME (once per version; a half copy is never used). */
async function systemCopy(nativeDir: string, version: string): Promise<string> {
  const target = path.join(ROOT_HOME, `postgresql-${version}`);
  if (await stat(path.join(target, 'bin', 'postgres')).catch(() => undefined)) return target;
  const tmp = `${target}.${process.pid}.tmp`;
  await mkdir(ROOT_HOME, { recursive: true, mode: 0o755 });
  await chmod(ROOT_HOME, 0o755);
  await rm(tmp, { recursive: true, force: true });
  await cp(nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
  await chmod(tmp, 0o755);
  await rename(tmp, target).catch(async (err: NodeJS.ErrnoException) => {
    await rm(tmp, { recursive: true, force: true });
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err; // another process copied it first
  });
  return target;
}

async function postgresUser(): Promise<PgUser> {
  const run = promisify(execFile);
  const lookup = async (): Promise<PgUser> => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await lookup();
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
      return await lookup();
    } catch (err) {
      throw new EmbeddedPostgresError(
        `as root it runs as the "postgres" user, which is missing and could not be created (${(err as Error).message.split('\n')[0]})`,
        'create it (useradd --system --user-group postgres), run as a normal user, or set DATABASE_URL',
      );
    }
  }
}

/** Hands a directory we created to the user PostgreSQL runs as. */
export async function giveTo(dir: string, user: PgUser | undefined): Promise<void> {
  if (user) await chown(dir, user.uid, user.gid);
}
