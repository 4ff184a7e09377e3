// A DONE asset: an <audio preload="metadata"> playing the presigned `url`
// (progressive M4A or Ogg Opus, playable.ts; no HLS), custom controls and the waveform slider.
import { useApolloClient } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import { formatTime } from '../format';
import { AssetUrlQuery } from '../operations';
import { playableUrl } from '../playable';
import { Waveform } from './Waveform';
import { WaveformZoom } from './WaveformZoom';

interface Props {
  id: string;
  filename: string;
  url: string;
  duration: number;
  bars: readonly number[];
}

export function Player({ id, filename, url, duration, bars }: Props) {
  const client = useApolloClient();
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [current, setCurrent] = useState(0);
  const [broken, setBroken] = useState<string | null>(null);
  // Where to resume after the URL was swapped for a fresh one.
  const resume = useRef<{ at: number; play: boolean } | null>(null);
  const refreshedFor = useRef<string | null>(null);

  // timeupdate fires ~4 times a second: too coarse for the played bars.
  useEffect(() => {
    if (!playing) return;
    let frame = requestAnimationFrame(function tick() {
      if (audio.current) setCurrent(audio.current.currentTime);
      frame = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(frame);
  }, [playing]);

  const toggle = () => {
    const a = audio.current;
    if (!a) return;
    if (a.paused) a.play().catch((e: Error) => setBroken(e.message));
    else a.pause();
  };
  const seek = (t: number) => {
    if (audio.current) audio.current.currentTime = t;
    setCurrent(t);
  };

  // The presigned URL expires (PLAYBACK_URL_TTL_SECONDS): on an error, ask
  // once per URL for a fresh one; the cache update swaps `src`.
  const onError = () => {
    if (refreshedFor.current === url) return setBroken('This audio cannot be played right now.');
    refreshedFor.current = url;
    const a = audio.current;
    resume.current = a ? { at: a.currentTime, play: !a.paused } : null;
    client.query({ query: AssetUrlQuery, variables: { id }, fetchPolicy: 'network-only' }).then(
      // Signed within the same second, the URL can come back identical: no
      // `src` change then, so retry it by hand. `url` may be the Opus
      // rendition's: compare what this browser would play.
      ({ data }) => (data?.asset && playableUrl(data.asset) === url ? audio.current?.load() : undefined),
      () => setBroken('Could not get a fresh link.'),
    );
  };
  const onLoadedMetadata = () => {
    const r = resume.current;
    const a = audio.current;
    resume.current = null;
    if (!r || !a) return;
    a.currentTime = r.at;
    if (r.play) void a.play().catch(() => {});
  };

  return (
    <div className="player">
      <audio
        ref={audio}
        src={url}
        preload="metadata"
        onPlay={() => (setPlaying(true), setBroken(null))}
        onPause={() => setPlaying(false)}
        onEnded={() => (setPlaying(false), setCurrent(duration))}
        onTimeUpdate={(e) => setCurrent(e.currentTarget.currentTime)}
        onLoadedMetadata={onLoadedMetadata}
        onError={onError}
      />
      <div className="controls">
        <button type="button" className="play" onClick={toggle} aria-label={`${playing ? 'Pause' : 'Play'} ${filename}`}>
          {playing ? '❚❚' : '▶'}
        </button>
        <Waveform bars={bars} duration={duration} current={current} label={filename} onSeek={seek} onToggle={toggle} />
        <span className="time" aria-live="off">
          {formatTime(current)} / {formatTime(duration)}
        </span>
      </div>
      <WaveformZoom id={id} label={filename} duration={duration} current={current} onSeek={seek} />
      {broken && <p className="error-text">{broken}</p>}
    </div>
  );
}
