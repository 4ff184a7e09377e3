// What ffmpeg's stderr is used for: the logs, with presigned URLs redacted,
// and one question only.
//
// Did ffmpeg fail because the storage stopped delivering the original? Its
// exit status cannot say (1 for a cut connection and for a corrupt file
// alike), and asking the storage afterwards is too late: a connection cut
// while megabytes sat in socket buffers fails only once ffmpeg has decoded
// them, by which time the storage may be answering again.
//
// ffmpeg ends a failed read with one line, `<input URL>: <reason>`. Most of
// stderr can carry text the file controls (a demuxer quoting a string it
// read), but not this line's start: the input URL is presigned for this run,
// and no file can know its signature. So the outcome may rest on this line
// alone, and only when its reason is one of the transport's.

/** av_err2str() of the errors a storage or network causes: errno texts and ffmpeg's HTTP status errors. */
const STORAGE_REASONS = [
  /^Input\/output error$/, // a body that ended early, a failed reconnect
  /^Connection (refused|reset by peer|timed out)$/,
  /^(Broken pipe|Network is (unreachable|down)|No route to host|Host is unreachable)$/,
  /^Server returned /, // 4XX/5XX from the storage: an expired URL, a restart
];

/** True when `stderr` (raw, not redacted) holds ffmpeg's own report that reading `inputUrl` failed for a transport reason. */
export function inputReadFailed(stderr: string, inputUrl: string): boolean {
  if (inputUrl === '') return false;
  const prefix = `${inputUrl}: `;
  for (const line of stderr.split('\n')) {
    // A line the file wrote may run into ours; the URL still starts where ffmpeg put it.
    const at = line.lastIndexOf(prefix);
    if (at === -1) continue;
    const reason = line.slice(at + prefix.length).trimEnd();
    if (STORAGE_REASONS.some((r) => r.test(reason))) return true;
  }
  return false;
}

/** The URL ffmpeg reads: the argument after `-i`. */
export function inputUrlOf(args: readonly string[]): string {
  const i = args.indexOf('-i');
  return i === -1 ? '' : (args[i + 1] ?? '');
}

/**
 * Removes query strings from URLs: a presigned signature must not reach the
 * logs. SigV4 parameters are also caught on their own, in case a line was cut.
 */
export function redactUrls(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?'"]*)\?[^\s'"]*?(?=:?(?:\s|$)|['"])/gi, '$1?<redacted>')
    .replace(/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s'"]*/gi, '$1<redacted>');
}
