// The waveform as a seek slider (contract): role="slider" named "… waveform",
// aria-valuemax = duration in seconds, aria-valuenow = the current time.
// A click (or drag) at x% of its width seeks to x% of the duration.
import { type KeyboardEvent, type PointerEvent, useRef } from 'react';
import { formatTime } from '../format';

interface Props {
  /** 0..100 each: the bar's height in %. */
  bars: readonly number[];
  duration: number;
  current: number;
  label: string;
  onSeek(seconds: number): void;
  onToggle(): void;
}

const STEP_SECONDS = 5;

export function Waveform({ bars, duration, current, label, onSeek, onToggle }: Props) {
  const dragging = useRef(false);
  const clamp = (t: number) => Math.min(duration, Math.max(0, t));
  const seekToPointer = (e: PointerEvent<HTMLDivElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    if (rect.width > 0) onSeek(clamp(((e.clientX - rect.left) / rect.width) * duration));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const to: Record<string, () => void> = {
      ArrowLeft: () => onSeek(clamp(current - STEP_SECONDS)),
      ArrowDown: () => onSeek(clamp(current - STEP_SECONDS)),
      ArrowRight: () => onSeek(clamp(current + STEP_SECONDS)),
      ArrowUp: () => onSeek(clamp(current + STEP_SECONDS)),
      PageDown: () => onSeek(clamp(current - duration / 10)),
      PageUp: () => onSeek(clamp(current + duration / 10)),
      Home: () => onSeek(0),
      End: () => onSeek(duration),
      ' ': onToggle,
      Enter: onToggle,
    };
    const action = to[e.key];
    if (!action) return;
    e.preventDefault(); // no page scroll on space/arrows
    action();
  };

  const played = duration > 0 ? current / duration : 0;
  return (
    <div
      className="waveform"
      role="slider"
      tabIndex={0}
      aria-label={`${label} waveform`}
      aria-valuemin={0}
      aria-valuemax={duration}
      aria-valuenow={Math.round(current * 100) / 100}
      aria-valuetext={`${formatTime(current)} of ${formatTime(duration)}`}
      onKeyDown={onKeyDown}
      onPointerDown={(e) => {
        dragging.current = true;
        // Keep receiving moves when the pointer leaves the control mid-drag.
        e.currentTarget.setPointerCapture?.(e.pointerId);
        seekToPointer(e);
      }}
      onPointerMove={(e) => dragging.current && seekToPointer(e)}
      onPointerUp={() => (dragging.current = false)}
      onPointerCancel={() => (dragging.current = false)}
    >
      {bars.map((value, i) => (
        <span
          key={i}
          className={(i + 0.5) / bars.length <= played ? 'bar played' : 'bar'}
          style={{ height: `${value}%` }}
        />
      ))}
    </div>
  );
}
