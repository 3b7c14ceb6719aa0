// A node:test reporter that prints, at the end of a run, where its time went: each test file's
// time (its process from start to end), slowest first. On two cores the suite is bound by CPU, so
// these are the files to look at when `npm test` grows (they run two at a time, so a file's
// figure includes its share of waiting for the CPU).
import path from 'node:path';

const SHOWN = 15;

export default async function* timings(source) {
  const byFile = new Map();
  for await (const event of source) {
    // Each file's own entry (its name is the file's path) ends with the file's whole time: its
    // process starting, loading its modules, and every test in it.
    if (event.type !== 'test:complete' || event.data.nesting !== 0 || !event.data.file) continue;
    const file = path.relative(process.cwd(), event.data.file);
    if (event.data.name === file) byFile.set(file, event.data.details?.duration_ms ?? 0);
  }
  if (byFile.size === 0) return;
  const rows = [...byFile].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
  const s = (ms) => `${(ms / 1000).toFixed(1)} s`.padStart(9);
  yield `\n# where the time went: ${rows.length} files, ${s(total).trim()} summed; the slowest:\n`;
  for (const [file, ms] of rows.slice(0, SHOWN)) yield `# ${s(ms)}  ${file}\n`;
}
