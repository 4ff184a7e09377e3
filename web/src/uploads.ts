// Uploads this page is running: byte progress lives here (the service knows
// nothing of it until the upload is completed).
import type { ApolloClient } from '@apollo/client';
import { useCallback, useState } from 'react';
import { uploadFile } from './upload';

export interface LocalUpload {
  key: number;
  filename: string;
  loaded: number;
  total: number;
  assetId: string | null;
  error: string | null;
}

let nextKey = 1;

export function useUploads(client: ApolloClient) {
  const [uploads, setUploads] = useState<LocalUpload[]>([]);
  const patch = (key: number, change: Partial<LocalUpload>) =>
    setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...change } : u)));

  const start = useCallback(
    (files: File[]) => {
      for (const file of files) {
        const key = nextKey++;
        setUploads((all) => [...all, { key, filename: file.name, loaded: 0, total: file.size, assetId: null, error: null }]);
        uploadFile(client, file, {
          onPrepared: (assetId) => patch(key, { assetId }),
          onProgress: (loaded, total) => patch(key, { loaded, total }),
        }).then(
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
