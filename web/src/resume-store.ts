// Uploads this browser started and may resume after a reload: the asset id
// and the file's identity (name, size, lastModified), as Uppy keys its files.
// A page cannot reopen a file by itself: choosing the same file again resumes.

export interface ResumableUpload {
  assetId: string;
  name: string;
  size: number;
  lastModified: number;
}

const KEY = 'audio-service.uploads';

type FileIdentity = Pick<File, 'name' | 'size' | 'lastModified'>;

function read(): ResumableUpload[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(value) ? (value as ResumableUpload[]) : [];
  } catch {
    return [];
  }
}

function write(all: ResumableUpload[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // Storage full or disabled (private mode): the upload just cannot resume.
  }
}

const same = (u: ResumableUpload, f: FileIdentity) => u.name === f.name && u.size === f.size && u.lastModified === f.lastModified;

/** Enough for any real backlog; older entries (uploads long abandoned) make room. */
const MAX_ENTRIES = 50;

export function rememberUpload(file: FileIdentity, assetId: string): void {
  const others = read().filter((u) => !same(u, file) && u.assetId !== assetId);
  write([...others, { assetId, name: file.name, size: file.size, lastModified: file.lastModified }].slice(-MAX_ENTRIES));
}

/** The asset a previous page started for this very file, if any. */
export function findUpload(file: FileIdentity): string | null {
  return read().find((u) => same(u, file))?.assetId ?? null;
}

export function isResumable(assetId: string): boolean {
  return read().some((u) => u.assetId === assetId);
}

export function forgetUpload(assetId: string): void {
  write(read().filter((u) => u.assetId !== assetId));
}
