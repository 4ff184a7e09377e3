import { Migration } from '@mikro-orm/migrations';

/**
 * Parts of a multipart upload the browser has stored, with their ETags, as
 * the client reported them: a reloaded page resumes from here where the
 * storage cannot list parts itself (s3rver has no ListParts). Rows go with
 * their asset, and are dropped once the upload is completed.
 */
export class Migration20261206000022 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table upload_part (
        asset_id uuid not null references audio_asset (id) on delete cascade,
        part_number int not null check (part_number between 1 and 10000),
        etag text not null,
        recorded_at timestamptz not null default now(),
        primary key (asset_id, part_number)
      );`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists upload_part;');
  }
}
