/**
 * Runs an export in a worker thread with a small heap of its own and writes it to the response
 * through a few fixed buffers (issue 16: 1M rows exported with server memory growth under 50 MB).
 * In the server's own heap the same export grew RSS by about 270 MB: its garbage (GBs of
 * short-lived strings and rows per 1M rows) made V8 grow the young generation to its maximum and
 * the old one with it, and the server kept that heap. Handing the socket fresh buffers instead
 * left up to ~64 MB of written ones waiting for a GC of the (quiet) main thread, which V8 does not
 * run until external memory grows that much. So the worker fills BUFFERS buffers that come back
 * to it when the socket has written them: memory stays what the worker's heap limits allow.
 */
import type { ServerResponse } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { Backend, Database } from '../db/database.ts';
import type { ExportJob } from './export.ts';

export interface WorkerData {
  url: string;
  backend: Backend;
  job: ExportJob;
  buffers: number;
  bufferBytes: number;
}

export type WorkerMessage = { chunk: ArrayBuffer; length: number } | { done: true } | { error: string };

/** V8 limits of an export's worker. A small young generation keeps RSS low (measured: 2 MB gives the same speed as 8); the old one is a cap, sized for a batch of 1,000 large rows. */
const EXPORT_WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 128 };
const BUFFERS = 4;
const BUFFER_BYTES = 256 * 1024;

// Compiled (dist/) the worker is a .js file; run from source (tests, tsx) a .ts one.
const WORKER_URL = new URL(`./export-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

let running = 0;
/** Export workers running now (in this process). */
export const runningExports = () => running;

/**
 * Writes the export to `res` (its headers already sent) and ends it. Resolves with the bytes
 * written; rejects if the export fails or the client goes away (the caller cuts the connection).
 */
export function writeExport(database: Database, job: ExportJob, res: ServerResponse): Promise<number> {
  const data: WorkerData = { url: database.connectionString, backend: database.backend, job, buffers: BUFFERS, bufferBytes: BUFFER_BYTES };
  const worker = new Worker(WORKER_URL, { workerData: data, resourceLimits: EXPORT_WORKER_LIMITS });
  running += 1;
  worker.once('exit', () => (running -= 1));
  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    let producing = true;
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      if (err) reject(err);
      else resolve(bytes);
    };
    res.on('close', () => settle(res.writableFinished ? undefined : new Error('the connection closed before the export ended')));
    worker.on('message', (m: WorkerMessage) => {
      if ('chunk' in m) {
        bytes += m.length;
        // Back to the worker once written: the socket no longer needs it.
        res.write(Buffer.from(m.chunk, 0, m.length), () => {
          if (!settled) worker.postMessage(m.chunk, [m.chunk]);
        });
      } else if ('done' in m) {
        producing = false;
        res.end(() => settle());
      } else settle(new Error(m.error));
    });
    worker.on('error', (e) => settle(e));
    worker.on('exit', (code) => {
      if (producing) settle(new Error(`the export's worker stopped (exit code ${code})`));
    });
  });
}
