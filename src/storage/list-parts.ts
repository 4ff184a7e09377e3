import { ListPartsCommand, type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { UploadedPart } from '../domain/multipart.js';

/**
 * The parts storage holds for a multipart upload, or null where it cannot
 * say: s3rver answers ListParts with MethodNotAllowed, and a storage may
 * refuse it (AccessDenied). The caller then falls back to its own record.
 */
export async function listStoredParts(client: S3Client, bucket: string, key: string, uploadId: string): Promise<UploadedPart[] | null> {
  const parts: UploadedPart[] = [];
  let marker: string | undefined;
  try {
    do {
      const r = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      for (const p of r.Parts ?? []) if (p.PartNumber && p.ETag) parts.push({ partNumber: p.PartNumber, etag: p.ETag });
      marker = r.IsTruncated ? r.NextPartNumberMarker : undefined;
    } while (marker);
  } catch (e) {
    if (e instanceof S3ServiceException) return null;
    throw e;
  }
  return parts.sort((a, b) => a.partNumber - b.partNumber);
}
