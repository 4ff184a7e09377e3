// Browser uploads straight to storage: prepare, PUT to the presigned URL(s)
// with XMLHttpRequest (fetch has no upload progress), then complete.
import type { ApolloClient } from '@apollo/client';
import { addToList } from './cache';
import { CompleteUploadMutation, PrepareUploadMutation } from './operations';

export interface UploadHooks {
  onPrepared(assetId: string): void;
  onProgress(loaded: number, total: number): void;
}

/** Declared type as the contract accepts it: no parameters, octet-stream when the browser has none. */
export function declaredType(file: File): string {
  return file.type.split(';')[0]!.trim() || 'application/octet-stream';
}

export async function uploadFile(client: ApolloClient, file: File, hooks: UploadHooks): Promise<void> {
  const { data } = await client.mutate({
    mutation: PrepareUploadMutation,
    variables: { input: { filename: file.name || 'recording', size: file.size, contentType: declaredType(file) } },
  });
  const prepared = data!.prepareAudioUpload;
  const id = prepared.asset.id;
  addToList(client.cache, prepared.asset);
  hooks.onPrepared(id);

  const headers = prepared.uploadHeaders.map((h) => [h.name, h.value] as const);
  let parts: { partNumber: number; etag: string }[] | null = null;
  if (prepared.multipart) {
    const { partSize } = prepared.multipart;
    parts = [];
    for (const part of prepared.multipart.parts) {
      const start = (part.partNumber - 1) * partSize;
      const blob = file.slice(start, start + partSize);
      // The embedded S3 (and a bucket with our CORS rules) exposes ETag to scripts.
      const etag = await put(part.url, blob, headers, (loaded) => hooks.onProgress(start + loaded, file.size));
      if (!etag) throw new Error(`storage returned no ETag for part ${part.partNumber} (is ETag exposed by CORS?)`);
      parts.push({ partNumber: part.partNumber, etag });
    }
  } else {
    await put(prepared.uploadUrl!, file, headers, (loaded) => hooks.onProgress(loaded, file.size));
  }
  hooks.onProgress(file.size, file.size);
  await client.mutate({ mutation: CompleteUploadMutation, variables: { input: { id, parts } } });
}

/** One PUT with progress; resolves with the response's ETag header. */
function put(url: string, body: Blob, headers: readonly (readonly [string, string])[], onProgress: (loaded: number) => void): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    // "exactly as given" (contract); Content-Length is the browser's to set.
    for (const [name, value] of headers) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve(xhr.getResponseHeader('ETag'))
        : reject(new Error(`storage refused the upload (HTTP ${xhr.status})`));
    xhr.onerror = () => reject(new Error('network error while uploading'));
    xhr.onabort = () => reject(new Error('upload aborted'));
    xhr.send(body);
  });
}
