import { Migration } from '@mikro-orm/migrations';

/**
 * One usage row per owner, kept by triggers on audio_asset so that every
 * path that creates, fails, finishes or deletes an asset (API, worker,
 * sweep) moves it, in the same transaction as the change:
 * - stored_bytes: declared sizes of the owner's assets that are not FAILED
 *   (a deleted row is gone, so deleting frees its bytes);
 * - audio_day / audio_seconds: seconds of audio that reached DONE on that
 *   UTC day (a day that is not today counts as 0).
 * The row is also the lock that serialises one owner's quota checks across
 * API processes (db/usage.repository.ts): a counter under a row lock is one
 * index lookup, where summing the owner's assets under an advisory lock
 * would need its own statement before the insert.
 */
export class Migration20261206000030 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table owner_usage (
        owner_id text primary key,
        stored_bytes bigint not null default 0,
        audio_day date not null default (now() at time zone 'utc')::date,
        audio_seconds double precision not null default 0
      );`);
    this.addSql(`
      create function owner_usage_track() returns trigger language plpgsql as $$
      declare
        today date := (now() at time zone 'utc')::date;
      begin
        if tg_op = 'INSERT' then
          if new.status <> 'FAILED' then
            insert into owner_usage as u (owner_id, stored_bytes) values (new.owner_id, new.size)
              on conflict (owner_id) do update set stored_bytes = u.stored_bytes + excluded.stored_bytes;
          end if;
        elsif tg_op = 'DELETE' then
          if old.status <> 'FAILED' then
            update owner_usage set stored_bytes = greatest(stored_bytes - old.size, 0) where owner_id = old.owner_id;
          end if;
        elsif new.status = 'FAILED' and old.status <> 'FAILED' then
          update owner_usage set stored_bytes = greatest(stored_bytes - new.size, 0) where owner_id = new.owner_id;
        elsif new.status = 'DONE' and old.status <> 'DONE' then
          insert into owner_usage as u (owner_id, audio_day, audio_seconds)
            values (new.owner_id, today, coalesce(new.duration_seconds, 0))
            on conflict (owner_id) do update set
              audio_seconds = (case when u.audio_day = today then u.audio_seconds else 0 end) + excluded.audio_seconds,
              audio_day = today;
        end if;
        return null;
      end $$;`);
    this.addSql(`create trigger owner_usage_on_insert after insert on audio_asset
      for each row execute function owner_usage_track();`);
    this.addSql(`create trigger owner_usage_on_status after update of status on audio_asset
      for each row when (old.status is distinct from new.status) execute function owner_usage_track();`);
    this.addSql(`create trigger owner_usage_on_delete after delete on audio_asset
      for each row execute function owner_usage_track();`);
    // Assets that exist already: bytes of the live ones, and today's DONE seconds (updated_at is when they ended).
    this.addSql(`
      insert into owner_usage (owner_id, stored_bytes, audio_seconds)
      select owner_id,
             coalesce(sum(size) filter (where status <> 'FAILED'), 0),
             coalesce(sum(duration_seconds) filter (
               where status = 'DONE' and updated_at >= (now() at time zone 'utc')::date::timestamp at time zone 'utc'), 0)
        from audio_asset group by owner_id;`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists owner_usage_on_insert on audio_asset;');
    this.addSql('drop trigger if exists owner_usage_on_status on audio_asset;');
    this.addSql('drop trigger if exists owner_usage_on_delete on audio_asset;');
    this.addSql('drop function if exists owner_usage_track();');
    this.addSql('drop table if exists owner_usage;');
  }
}
