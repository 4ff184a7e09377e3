// One asset in its state: Uploading (gray, real byte progress), Processing
// (blue, percentage), Done (the player), Failed (red, the service's message).
import type { AssetFieldsFragment as Asset } from '../gql/graphql';
import { formatBytes, formatTime } from '../format';
import { isResumable } from '../resume-store';
import type { UploadProgress } from '../upload';
import type { LocalUpload } from '../uploads';
import { playableUrl } from '../playable';
import { Player } from './Player';

interface Props {
  asset: Asset;
  upload?: LocalUpload | undefined;
  onDelete(): void;
  deleting: boolean;
}

export function AssetCard({ asset, upload, onDelete, deleting }: Props) {
  return (
    <li className={`asset asset-${asset.status.toLowerCase()}`} data-status={asset.status} data-asset-id={asset.id}>
      <div className="asset-head">
        <span className="filename" title={asset.filename}>
          {asset.filename}
        </span>
        <span className="size">{formatBytes(asset.size)}</span>
        <button type="button" className="delete" onClick={onDelete} disabled={deleting} aria-label={`Delete ${asset.filename}`}>
          ✕
        </button>
      </div>
      <Body asset={asset} upload={upload} />
    </li>
  );
}

function Body({ asset, upload }: { asset: Asset; upload?: LocalUpload | undefined }) {
  switch (asset.status) {
    case 'AWAITING_UPLOAD':
      if (upload?.error) return <StatusLine kind="failed" text={`Upload failed: ${upload.error}`} />;
      if (upload) return <Uploading progress={upload.progress} />;
      return isResumable(asset.id) ? (
        <StatusLine kind="uploading" text={`Upload interrupted: choose ${asset.filename} again to resume it.`} />
      ) : (
        <StatusLine kind="uploading" text="Waiting for the upload" />
      );
    case 'QUEUED':
      return <Progress kind="processing" label="Processing" value={0} spinner />;
    case 'PROCESSING':
      return <Progress kind="processing" label="Processing" value={asset.progress ?? 0} spinner />;
    case 'DONE':
      return asset.url && asset.duration != null ? (
        <>
          <Player id={asset.id} filename={asset.filename} url={playableUrl(asset)!} duration={asset.duration} bars={asset.waveform ?? []} />
          {asset.loudness && (
            <p className="loudness">
              {asset.loudness.integrated.toFixed(1)} LUFS · true peak {asset.loudness.truePeak.toFixed(1)} dBTP · range{' '}
              {asset.loudness.range.toFixed(1)} LU
            </p>
          )}
        </>
      ) : (
        <StatusLine kind="processing" text="Ready" />
      );
    case 'FAILED':
      return <StatusLine kind="failed" text={asset.error?.message ?? 'Processing failed.'} code={asset.error?.code} />;
  }
}

/** The Opus rendition where this browser plays Ogg Opus (smaller), else the M4A. */
/** Bytes sent of the total, speed and time left (Uppy's status bar shows the same). */
function Uploading({ progress: p }: { progress: UploadProgress }) {
  const parts = [`${formatBytes(p.loaded)} of ${formatBytes(p.total)}`];
  if (p.resumedBytes > 0) parts.push(`resumed: ${formatBytes(p.resumedBytes)} were already stored`);
  if (p.bytesPerSecond != null) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  if (p.secondsLeft != null) parts.push(`${formatTime(Math.ceil(p.secondsLeft))} left`);
  return (
    <>
      <Progress kind="uploading" label="Uploading" value={p.loaded / Math.max(1, p.total)} />
      <div className="transfer" aria-live="off">
        {parts.join(' · ')}
      </div>
    </>
  );
}

function Progress({ kind, label, value, spinner }: { kind: string; label: string; value: number; spinner?: boolean }) {
  const pct = Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div className={`status status-${kind}`}>
      <span className="status-label">
        {spinner && <span className="spinner" aria-hidden="true" />}
        {label} {pct}%
      </span>
      <div className="bar-track" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div className="bar-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

function StatusLine({ kind, text, code }: { kind: string; text: string; code?: string | undefined }) {
  return (
    <div className={`status status-${kind}`} role={kind === 'failed' ? 'alert' : undefined}>
      <span className="status-label">{kind === 'failed' ? 'Failed' : ''}</span> <span className="error-message">{text}</span>
      {code && <span className="error-code"> ({code})</span>}
    </div>
  );
}
