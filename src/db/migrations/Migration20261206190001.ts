import { Migration } from '@mikro-orm/migrations';

/**
 * The zoom levels of an asset's waveform data (src/domain/waveform-level.ts):
 * `[{ samplesPerPixel, length, bits }, ...]`, finest first; the objects are
 * `waveform/<id>/<samplesPerPixel>.dat|.json`. Null until DONE, and for assets
 * that were DONE before levels were made. The change-event trigger sends it
 * with the row (a few hundred bytes at most).
 */
export class Migration20261206190001 extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table audio_asset add column waveform_levels jsonb null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table audio_asset drop column if exists waveform_levels;');
  }
}
