import { Migration } from '@mikro-orm/migrations';

/**
 * The minute sweep's query for ended assets whose upload URL expired in the
 * last few minutes (`findEndedWithUploadUrlExpired`): DONE and FAILED rows
 * are nearly the whole table, so a partial index on the expiry reads one
 * range, in order, instead of one range per status of the general
 * (status, upload_expires_at) index. `concurrently` is not used: migrations
 * run in a transaction, and the index builds in seconds even at a million rows.
 */
export class Migration20261206230001 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create index if not exists audio_asset_ended_upload_expiry_idx
        on audio_asset (upload_expires_at, id) where status in ('DONE', 'FAILED');`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists audio_asset_ended_upload_expiry_idx;');
  }
}
