import { Migration } from '@mikro-orm/migrations';

/**
 * Deletions are announced on `asset_deleted` so that a worker processing the
 * asset stops at once instead of transcoding for nobody.
 */
export class Migration20261125000002 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function audio_asset_notify_delete() returns trigger language plpgsql as $$
      begin
        perform pg_notify('asset_deleted', json_build_object('id', old.id, 'owner_id', old.owner_id)::text);
        return null;
      end $$;`);
    this.addSql(`create trigger audio_asset_notify_delete after delete on audio_asset
      for each row execute function audio_asset_notify_delete();`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists audio_asset_notify_delete on audio_asset;');
    this.addSql('drop function if exists audio_asset_notify_delete();');
  }
}
