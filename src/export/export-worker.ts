/**
 * The export's worker thread (src/export/in-worker.ts starts it): runs one SessionExport on its
 * own connection and writes its output into a few fixed buffers that travel to the main thread
 * and back. The main thread returns a buffer once the socket has written it, so the buffers are
 * also the backpressure: with all of them out, the export waits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectDatabase } from '../db/database.ts';
import { SessionExport } from './export.ts';
import type { WorkerData, WorkerMessage } from './in-worker.ts';

const port = parentPort;
if (!port) throw new Error('export-worker.ts runs as a worker thread only');
const { url, backend, job, buffers, bufferBytes } = workerData as WorkerData;

const free: ArrayBuffer[] = Array.from({ length: buffers }, () => new ArrayBuffer(bufferBytes));
const waiting: (() => void)[] = [];
port.on('message', (m: unknown) => {
  if (!(m instanceof ArrayBuffer)) return;
  free.push(m);
  waiting.shift()?.();
});
const send = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let current: Uint8Array | undefined;
let used = 0;

async function room(): Promise<Uint8Array> {
  if (current && used < current.length) return current;
  if (current) flush();
  while (free.length === 0) await new Promise<void>((r) => waiting.push(r));
  current = new Uint8Array(free.pop()!);
  used = 0;
  return current;
}

function flush(): void {
  if (!current || used === 0) return;
  send({ chunk: current.buffer as ArrayBuffer, length: used }, [current.buffer as ArrayBuffer]);
  current = undefined;
  used = 0;
}

const encoder = new TextEncoder();

async function write(part: string | Uint8Array): Promise<void> {
  if (typeof part === 'string') {
    let rest = part;
    while (rest.length > 0) {
      const buf = await room();
      const { read, written } = encoder.encodeInto(rest, buf.subarray(used));
      used += written;
      // Nothing fit (a character needs more bytes than are left): the next buffer takes it.
      if (read === 0) used = buf.length;
      rest = rest.slice(read);
    }
  } else {
    for (let at = 0; at < part.length; ) {
      const buf = await room();
      const n = Math.min(buf.length - used, part.length - at);
      buf.set(part.subarray(at, at + n), used);
      used += n;
      at += n;
    }
  }
}

const database = connectDatabase(url, backend, 1);
try {
  for await (const part of new SessionExport(database).run(job)) await write(part);
  flush();
  send({ done: true });
} catch (e: unknown) {
  send({ error: e instanceof Error ? e.message : String(e) });
} finally {
  await database.close();
  port.close();
}
