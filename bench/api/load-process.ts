/**
 * Child-process side of the load generator: receives LoadJobs over IPC, answers
 * each with its LoadResult, and exits when the parent disconnects.
 */
import { runLoad, type LoadJob } from './load.ts';

process.on('message', (job: LoadJob) => {
  runLoad(job).then(
    (result) => process.send?.({ ok: true, result }),
    (e: unknown) => process.send?.({ ok: false, error: (e as Error).message }),
  );
});
process.on('disconnect', () => process.exit(0));
