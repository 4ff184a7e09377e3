import { Migration } from '@mikro-orm/migrations';

/**
 * Loudness (issue 20): what was measured, the normalisation target asked
 * for, the renditions asked for and the size of each one made. All ride in
 * the `asset_events` payload (a few dozen bytes). Assets processed before
 * this have no loudness_measured_at: the loudness backfill measures them.
 */
export class Migration20261206200001 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table audio_asset
        add column loudness_integrated double precision null,
        add column loudness_range double precision null,
        add column loudness_true_peak double precision null,
        add column loudness_target double precision null
          check (loudness_target is null or loudness_target between -40 and -5),
        add column loudness_measured_at timestamptz null,
        add column renditions_requested text[] not null default '{}',
        add column rendition_sizes jsonb not null default '{}';`);
  }

  override async down(): Promise<void> {
    this.addSql(`
      alter table audio_asset
        drop column loudness_integrated, drop column loudness_range, drop column loudness_true_peak,
        drop column loudness_target, drop column loudness_measured_at, drop column renditions_requested, drop column rendition_sizes;`);
  }
}
