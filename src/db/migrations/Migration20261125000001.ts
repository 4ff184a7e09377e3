import { Migration } from '@mikro-orm/migrations';

/**
 * The asset table, and a trigger that NOTIFYs `asset_events` on every insert
 * and update so that every API node hears every change made by any process
 * (API or worker) in commit order. The payload is the row without its
 * envelope: at most ~2 KB (filename <= 255 chars), far under NOTIFY's 8,000
 * byte cap, and it lets a subscriber see each state exactly as it was
 * committed (QUEUED is not lost when PROCESSING follows a millisecond later).
 */
export class Migration20261125000001 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table audio_asset (
        id uuid primary key,
        owner_id text not null,
        status text not null default 'AWAITING_UPLOAD'
          check (status in ('AWAITING_UPLOAD','QUEUED','PROCESSING','DONE','FAILED')),
        filename text not null,
        size bigint not null check (size > 0),
        content_type text not null,
        detected_type text null,
        progress double precision null,
        duration_seconds double precision null,
        envelope bytea null,
        error_code text null,
        error_message text null,
        version integer not null default 1,
        multipart_upload_id text null,
        upload_expires_at timestamptz not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`create index audio_asset_owner_created_idx on audio_asset (owner_id, created_at desc, id desc);`);
    this.addSql(`create index audio_asset_status_idx on audio_asset (status, upload_expires_at);`);
    this.addSql(`
      create function audio_asset_touch() returns trigger language plpgsql as $$
      begin
        new.version := old.version + 1;
        new.updated_at := greatest(now(), old.updated_at);
        return new;
      end $$;`);
    this.addSql(`create trigger audio_asset_touch before update on audio_asset
      for each row execute function audio_asset_touch();`);
    this.addSql(`
      create function audio_asset_notify() returns trigger language plpgsql as $$
      begin
        perform pg_notify('asset_events', (to_jsonb(new) - 'envelope' - 'multipart_upload_id')::text);
        return null;
      end $$;`);
    this.addSql(`create trigger audio_asset_notify after insert or update on audio_asset
      for each row execute function audio_asset_notify();`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists audio_asset cascade;');
    this.addSql('drop function if exists audio_asset_notify();');
    this.addSql('drop function if exists audio_asset_touch();');
  }
}
