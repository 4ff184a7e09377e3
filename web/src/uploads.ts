// Uploads this page is running: byte progress lives here (the service knows
// nothing of it until the upload is completed).
import type { ApolloClient } from '@apollo/client';
import { useCallback, useRef, useState } from 'react';
import { type UploadProgress, uploadFile } from './upload';

export interface LocalUpload {
  key: number;
  filename: string;
  progress: UploadProgress;
  assetId: string | null;
  error: string | null;
}

let nextKey = 1;

export function useUploads(client: ApolloClient) {
  const [uploads, setUploads] = useState<LocalUpload[]>([]);
  const patch = (key: number, change: Partial<LocalUpload>) =>
    setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...change } : u)));

  // Files this page is sending: the same file chosen twice would resume the same asset twice.
  const running = useRef(new Set<string>());

  const start = useCallback(
    (files: File[]) => {
      for (const file of files) {
        const identity = `${file.name}\n${file.size}\n${file.lastModified}`;
        if (running.current.has(identity)) continue;
        running.current.add(identity);
        const key = nextKey++;
        setUploads((all) => [...all, { key, filename: file.name, progress: { loaded: 0, total: file.size, resumedBytes: 0, bytesPerSecond: null, secondsLeft: null }, assetId: null, error: null }]);
        uploadFile(client, file, {
          onPrepared: (assetId) => patch(key, { assetId }),
          onProgress: (progress) => patch(key, { progress }),
        })
          .finally(() => running.current.delete(identity))
          .then(
            // Completed: from here the asset's own status tells the story.
            () => setUploads((all) => all.filter((u) => u.key !== key)),
            (e: Error) => patch(key, { error: e.message }),
          );
      }
    },
    [client],
  );
  const dismiss = useCallback((key: number) => setUploads((all) => all.filter((u) => u.key !== key)), []);
  return { uploads, start, dismiss };
}
