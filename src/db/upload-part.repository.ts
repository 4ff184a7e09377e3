import type pg from 'pg';
import type { UploadedPart } from '../domain/multipart.js';

/** The parts record (table upload_part): one row per stored part of an open multipart upload. */
export class UploadPartRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Records a part; a part PUT again replaces its ETag. */
  async record(assetId: string, part: UploadedPart): Promise<void> {
    await this.pool.query(
      `insert into upload_part (asset_id, part_number, etag) values ($1, $2, $3)
       on conflict (asset_id, part_number) do update set etag = excluded.etag, recorded_at = now()`,
      [assetId, part.partNumber, part.etag],
    );
  }

  async list(assetId: string): Promise<UploadedPart[]> {
    const r = await this.pool.query<{ part_number: number; etag: string }>(
      'select part_number, etag from upload_part where asset_id = $1 order by part_number',
      [assetId],
    );
    return r.rows.map((row) => ({ partNumber: row.part_number, etag: row.etag }));
  }

  async clear(client: pg.ClientBase, assetId: string): Promise<void> {
    await client.query('delete from upload_part where asset_id = $1', [assetId]);
  }
}
