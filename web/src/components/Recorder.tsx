// A voice note recorded in the browser (MediaRecorder), uploaded like a file.
// Hidden where the browser cannot record (no getUserMedia or MediaRecorder).
import { useEffect, useRef, useState } from 'react';
import { formatTime } from '../format';

const canRecord = () => typeof MediaRecorder !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;

// Opus in WebM (Chromium, Firefox) or AAC in MP4 (Safari): both are accepted containers.
const TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4'];

export function Recorder({ onRecorded }: { onRecorded(file: File): void }) {
  const recorder = useRef<MediaRecorder | null>(null);
  const [seconds, setSeconds] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (seconds === null) return;
    const started = Date.now() - seconds * 1000;
    const timer = setInterval(() => setSeconds((Date.now() - started) / 1000), 250);
    return () => clearInterval(timer);
  }, [seconds === null]); // eslint-disable-line react-hooks/exhaustive-deps

  if (!canRecord()) return null;

  const start = async () => {
    setError(null);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
      const rec = new MediaRecorder(stream, mimeType ? { mimeType } : {});
      const chunks: Blob[] = [];
      rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
      rec.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        const type = (rec.mimeType || 'audio/webm').split(';')[0]!;
        const ext = type.includes('mp4') ? 'm4a' : type.includes('ogg') ? 'ogg' : 'webm';
        const name = `voice-note-${new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-')}.${ext}`;
        onRecorded(new File(chunks, name, { type }));
        setSeconds(null);
      };
      rec.start(1000);
      recorder.current = rec;
      setSeconds(0);
    } catch (e) {
      setError((e as Error).name === 'NotAllowedError' ? 'Microphone access was refused.' : (e as Error).message);
    }
  };
  const stop = () => recorder.current?.state === 'recording' && recorder.current.stop();

  return (
    <div className="recorder">
      {seconds === null ? (
        <button type="button" onClick={() => void start()}>
          ● Record a voice note
        </button>
      ) : (
        <button type="button" className="recording" onClick={stop}>
          ■ Stop ({formatTime(seconds)})
        </button>
      )}
      {error && <span className="error-text">{error}</span>}
    </div>
  );
}
