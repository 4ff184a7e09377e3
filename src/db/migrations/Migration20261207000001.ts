import { Migration } from '@mikro-orm/migrations';

/**
 * The backfill's backlog (services/backfill.service.ts) is read every
 * minute: DONE assets without loudness or waveform levels, oldest first.
 * Without an index that read scans every DONE row, for ever after the
 * backlog is gone; this partial index holds only the backlog, so it empties
 * as the backfill works and the read costs next to nothing.
 */
export class Migration20261207000001 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create index audio_asset_backfill_idx on audio_asset (created_at)
        where status = 'DONE' and (loudness_measured_at is null or waveform_levels is null);`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists audio_asset_backfill_idx;');
  }
}
