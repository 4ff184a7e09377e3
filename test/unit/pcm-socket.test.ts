import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { PCM_READ_BUFFER_BYTES, openPcmChannel } from '../../src/media/pcm-socket.js';

// A child that writes `bytes` bytes (value = index mod 251) to its stdout and exits.
function writer(bytes: number): string[] {
  const script = `const n=${bytes};const b=Buffer.alloc(n);for(let i=0;i<n;i++)b[i]=i%251;process.stdout.write(b);`;
  return ['-e', script];
}

describe('PCM channel (socket pair, one reused read buffer)', () => {
  it('delivers every byte in order through views of one buffer, and closes when the child is gone', async () => {
    const channel = await openPcmChannel();
    const total = 5 * PCM_READ_BUFFER_BYTES + 123;
    let received = 0;
    let mismatch = -1;
    const backing = new Set<ArrayBufferLike>();
    channel.onChunk = (chunk) => {
      backing.add(chunk.buffer);
      assert.ok(chunk.length <= PCM_READ_BUFFER_BYTES);
      for (let i = 0; i < chunk.length; i++) if (mismatch < 0 && chunk[i] !== (received + i) % 251) mismatch = received + i;
      received += chunk.length;
    };
    const closed = new Promise<void>((resolve) => channel.reader.once('close', () => resolve()));
    const child = spawn(process.execPath, writer(total), { stdio: ['ignore', channel.childEnd, 'inherit'] });
    channel.releaseChildEnd();
    await new Promise((resolve) => child.once('exit', resolve));
    await closed;
    assert.equal(received, total);
    assert.equal(mismatch, -1, `byte ${mismatch} out of order`);
    assert.equal(backing.size, 1, 'every chunk is a view of the same reused buffer');
  });

  it('ends with EOF (not a hang) when the child dies without writing', async () => {
    const channel = await openPcmChannel();
    let received = 0;
    channel.onChunk = (chunk) => (received += chunk.length);
    const closed = new Promise<void>((resolve) => channel.reader.once('close', () => resolve()));
    const child = spawn(process.execPath, ['-e', 'process.kill(process.pid, "SIGKILL")'], { stdio: ['ignore', channel.childEnd, 'inherit'] });
    channel.releaseChildEnd();
    await new Promise((resolve) => child.once('exit', resolve));
    await closed;
    assert.equal(received, 0);
  });
});
