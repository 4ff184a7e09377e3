// A voice note recorded in the browser (MediaRecorder), uploaded like a file.
// Hidden where the browser cannot record (no getUserMedia or MediaRecorder).
import { useEffect, useRef, useState } from 'react';
import { formatTime } from '../format';

const canRecord = () => typeof MediaRecorder !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;

// Opus in WebM (Chromium, Firefox) or AAC in MP4 (Safari): both are accepted containers.
const TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4'];

export function Recorder({ onRecorded }: { onRecorded(file: File): void }) {
  const recorder = useRef<MediaRecorder | null>(null);
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const [now, setNow] = useState(0);
  const [error, setError] = useState<string | null>(null);

  // A clock for the elapsed time, only while recording.
  useEffect(() => {
    if (startedAt === null) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [startedAt]);

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
        setStartedAt(null);
      };
      rec.start(1000);
      recorder.current = rec;
      setNow(Date.now());
      setStartedAt(Date.now());
    } catch (e) {
      setError((e as Error).name === 'NotAllowedError' ? 'Microphone access was refused.' : (e as Error).message);
    }
  };
  const stop = () => recorder.current?.state === 'recording' && recorder.current.stop();

  return (
    <div className="recorder">
      {startedAt === null ? (
        <button type="button" onClick={() => void start()}>
          ● Record a voice note
        </button>
      ) : (
        <button type="button" className="recording" onClick={stop}>
          ■ Stop ({formatTime(Math.max(0, now - startedAt) / 1000)})
        </button>
      )}
      {error && <span className="error-text">{error}</span>}
    </div>
  );
}
