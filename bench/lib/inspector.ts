// The V8 CPU profiler of another node process, through its inspector
// (`node --inspect=127.0.0.1:0`): the same sampler `--cpu-prof` uses, but
// started and stopped around exactly the window to look at, and usable on a
// process that is later SIGKILLed (--cpu-prof writes only at a clean exit).
import { readFile, writeFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { sleep } from './infra.js';

export class InspectorProfiler {
  private nextId = 1;
  private readonly pending = new Map<number, (r: { result?: any; error?: unknown }) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const m = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: unknown };
      if (m.id !== undefined) this.pending.get(m.id)?.(m);
    });
  }

  /** Finds the inspector URL the process printed to its log and connects. */
  static async attach(logFile: string, timeoutMs = 10_000): Promise<InspectorProfiler> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const urls = [...(await readFile(logFile, 'utf8').catch(() => '')).matchAll(/Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+)/g)];
      const m = urls.at(-1);
      if (m) {
        const socket = new WebSocket(m[1]!);
        await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
        const p = new InspectorProfiler(socket);
        await p.send('Profiler.enable');
        await p.send('Profiler.setSamplingInterval', { interval: 500 });
        return p;
      }
      if (Date.now() > deadline) throw new Error(`no inspector URL in ${logFile}`);
      await sleep(100);
    }
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => {
        this.pending.delete(id);
        if (r.error) reject(new Error(`${method}: ${JSON.stringify(r.error)}`));
        else resolve(r.result);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  start(): Promise<void> {
    return this.send('Profiler.start');
  }

  /** Stops the profiler and writes the .cpuprofile. */
  async stop(file: string): Promise<void> {
    const { profile } = await this.send('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
  }

  close(): void {
    this.socket.close();
  }
}
