// ffmpeg's stderr is kept for the logs only: a bounded tail, with URL query
// strings redacted (a presigned signature must not reach the logs). Nothing
// is decided from it: a file controls part of what ffmpeg prints (tags,
// names), so outcomes come from exit status and our own measurements.

const STDERR_TAIL_BYTES = 4096;
const MAX_LINE_CHARS = 2048;

/**
 * Removes query strings from URLs. SigV4 parameters are also caught on their
 * own, in case a long line was cut between the URL and its query.
 */
export function redactUrls(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?'"]*)\?[^\s'"]*/gi, '$1?<redacted>')
    .replace(/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s'"]*/gi, '$1<redacted>');
}

export class StderrTail {
  private partial = '';
  tail = '';

  constructor(private readonly onLine?: (line: string) => void) {}

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
    this.onLine?.(line);
  }
}
