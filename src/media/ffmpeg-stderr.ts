// What the runner reads from ffmpeg's stderr, line by line: a bounded tail
// for logs and failure classification (URL query strings redacted: a
// presigned signature must not reach them), the input's declared duration,
// and the lines that say an rlimit ended it.

const STDERR_TAIL_BYTES = 4096;
const MAX_LINE_CHARS = 2048;
// ffmpeg's own SIGXCPU handler logs this and exits 255 after writing trailers.
const SIGXCPU_LINE = /received signal 24\b/;
// Under RLIMIT_AS: malloc failures, or the loader unable to map a library.
const OUT_OF_MEMORY = /Cannot allocate memory|Out of memory|std::bad_alloc|failed to map segment/i;

/** `  Duration: 01:02:03.45, start: ...` -> 3723.45; `Duration: N/A` -> null. */
export function parseDurationLine(line: string): number | null {
  const match = /^\s*Duration:\s*(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)\s*(?:,|$)/.exec(line);
  if (match === null) return null;
  const [, h, m, s] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/**
 * Removes query strings from URLs: a presigned signature must not reach the
 * logs. SigV4 parameters are also caught on their own, in case a long line
 * was cut between the URL and its query.
 */
export function redactUrls(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?'"]*)\?[^\s'"]*/gi, '$1?<redacted>')
    .replace(/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s'"]*/gi, '$1<redacted>');
}

export interface StderrCallbacks {
  onLine?: (line: string) => void;
  onDeclaredDuration?: (seconds: number) => void;
}

export class StderrReader {
  private partial = '';
  tail = '';
  declared: number | null = null;
  sawLimit = false;

  constructor(private readonly callbacks: StderrCallbacks) {}

  push(chunk: string): void {
    const lines = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = (lines.pop() ?? '').slice(-MAX_LINE_CHARS);
    for (const line of lines) this.line(line);
  }

  flush(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
  }

  private line(raw: string): void {
    const line = redactUrls(raw.slice(0, MAX_LINE_CHARS));
    this.tail = (this.tail + line + '\n').slice(-STDERR_TAIL_BYTES);
    if (SIGXCPU_LINE.test(line) || OUT_OF_MEMORY.test(line)) this.sawLimit = true;
    if (this.declared === null && this.callbacks.onDeclaredDuration) {
      const seconds = parseDurationLine(line);
      if (seconds !== null) {
        this.declared = seconds;
        this.callbacks.onDeclaredDuration(seconds);
      }
    }
    this.callbacks.onLine?.(line);
  }
}
