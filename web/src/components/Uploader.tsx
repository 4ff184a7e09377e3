// Three ways in: the file picker (`input[type=file]`, contract), drag and drop
// anywhere on the zone, and a voice note.
import { type DragEvent, useState } from 'react';
import { Recorder } from './Recorder';

// What the service accepts as declared types (contract): a hint for pickers,
// phones especially; the service still decides by magic bytes.
const ACCEPT = 'audio/*,video/mp4,video/webm,video/ogg,application/ogg,.m4a,.mp3,.wav,.flac,.ogg,.opus,.webm,.amr,.aac';

export function Uploader({ onFiles }: { onFiles(files: File[]): void }) {
  const [over, setOver] = useState(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const files = [...e.dataTransfer.files];
    if (files.length) onFiles(files);
  };
  return (
    <div
      className={over ? 'dropzone over' : 'dropzone'}
      onDragOver={(e) => (e.preventDefault(), setOver(true))}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <label className="pick">
        <input
          type="file"
          className="visually-hidden"
          accept={ACCEPT}
          multiple
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = ''; // the same file can be picked again
            if (files.length) onFiles(files);
          }}
        />
        <span className="button">Choose audio files</span>
      </label>
      <span className="hint">or drop them here</span>
      <Recorder onRecorded={(f) => onFiles([f])} />
    </div>
  );
}
