// A zoomable view of a long file's waveform, drawn from the stored
// audiowaveform levels (`waveformData`): the first paint needs only the
// coarsest level (a few KB); zooming in fetches the level that gives about
// one pair per device pixel, never decoding audio. It follows the playhead;
// a click seeks within the visible span. The role="slider" control above
// stays the accessible seek bar over the whole duration.
import { useQuery } from '@apollo/client/react';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { formatTime } from '../format';
import { type Pairs, WaveformDataQuery, chooseLevel, columns, fetchPairs, loudest } from '../waveform-data';

interface Props {
  id: string;
  label: string;
  duration: number;
  current: number;
  onSeek(seconds: number): void;
}

/** Shorter files are drawn whole by the slider's bars; zooming pays off on long ones. */
export const ZOOM_MIN_SECONDS = 30;
const HEIGHT = 72;

export function WaveformZoom({ id, label, duration, current, onSeek }: Props) {
  const { data } = useQuery(WaveformDataQuery, { variables: { id }, skip: duration < ZOOM_MIN_SECONDS });
  const levels = data?.asset?.waveformData ?? null;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [zoom, setZoom] = useState(1);
  const [pairs, setPairs] = useState<Pairs | null>(null);

  useLayoutEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    setWidth(el.clientWidth);
    return () => observer.disconnect();
  }, [levels !== null]);

  const dpr = window.devicePixelRatio || 1;
  const pixels = Math.max(1, Math.round(width * dpr));
  const finest = levels?.reduce((m, l) => Math.min(m, l.samplesPerPixel), Infinity) ?? 256;
  // Every level has the rate of the PCM it was made from (contract: waveformData.sampleRate).
  const sampleRate = levels?.[0]?.sampleRate ?? 44_100;
  // Zoom in until the finest level gives one pair per device pixel.
  const maxZoom = Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, (duration * sampleRate) / (finest * pixels)))));
  const span = duration / Math.min(zoom, maxZoom);
  const start = Math.min(Math.max(0, current - span / 2), Math.max(0, duration - span));
  const level = levels && levels.length > 0 && width > 0 ? chooseLevel(levels, span * sampleRate, pixels) : null;

  useEffect(() => {
    if (!level) return;
    let live = true;
    // The level on screen stays until the next one has arrived.
    fetchPairs(level.datUrl).then((p) => live && setPairs(p), () => {});
    return () => {
      live = false;
    };
  }, [level?.datUrl]);

  useEffect(() => {
    const el = canvas.current;
    if (!el || !pairs || width === 0) return;
    el.width = pixels;
    el.height = Math.round(HEIGHT * dpr);
    const g = el.getContext('2d');
    if (!g) return;
    const style = getComputedStyle(el);
    const colours = [style.getPropertyValue('--played').trim() || '#2563eb', style.getPropertyValue('--unplayed').trim() || '#9ca3af'];
    const { min, max } = columns(pairs, start, start + span, pixels);
    // The loudest moment fills the height (a quiet recording is still readable).
    const mid = el.height / 2;
    const scale = (mid * 0.95) / loudest(pairs);
    g.clearRect(0, 0, el.width, el.height);
    for (let x = 0; x < pixels; x++) {
      g.fillStyle = start + (span * (x + 0.5)) / pixels <= current ? colours[0]! : colours[1]!;
      g.fillRect(x, mid - max[x]! * scale, 1, Math.max(1, (max[x]! - min[x]!) * scale));
    }
  }, [pairs, start, span, current, pixels, dpr, width]);

  if (!levels || levels.length === 0 || duration < ZOOM_MIN_SECONDS) return null;
  return (
    <div className="waveform-zoom">
      <canvas
        ref={canvas}
        aria-label={`Zoomed view of ${label}, ${formatTime(start)} to ${formatTime(start + span)}`}
        role="img"
        onClick={(e) => {
          const rect = e.currentTarget.getBoundingClientRect();
          if (rect.width > 0) onSeek(Math.min(duration, Math.max(0, start + ((e.clientX - rect.left) / rect.width) * span)));
        }}
      />
      <div className="zoom-buttons">
        <button type="button" aria-label={`Zoom out of ${label}`} disabled={zoom <= 1} onClick={() => setZoom((z) => Math.max(1, Math.min(z, maxZoom) / 2))}>
          −
        </button>
        <span className="zoom-level">×{Math.min(zoom, maxZoom)}</span>
        <button type="button" aria-label={`Zoom in to ${label}`} disabled={zoom >= maxZoom} onClick={() => setZoom((z) => Math.min(maxZoom, z * 2))}>
          +
        </button>
      </div>
    </div>
  );
}
