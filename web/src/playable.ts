// Which of an asset's URLs the browser plays: the Opus rendition where it can
// (a third of the M4A's bytes), else the M4A every browser plays.
interface Playable {
  url?: string | null;
  renditions: readonly { format: string; url: string }[];
}

export function playableUrl(asset: Playable): string | null {
  const opus = asset.renditions.find((r) => r.format === 'OPUS_OGG');
  const canPlay = typeof document !== 'undefined' && document.createElement('audio').canPlayType('audio/ogg; codecs=opus') !== '';
  return opus && canPlay ? opus.url : (asset.url ?? null);
}
