// The turn watchdog: a small process the server starts once (src/runner/watchdog.ts).
// Plain JavaScript run by node without a loader, so it starts fast and small.
//
// Claude Code dies with the server (setpriv --pdeathsig KILL), but its tool children
// are re-parented and would live on. The server tells this process, over its stdin,
// which turns are running; stdin is a pipe only the server holds, so it reaches EOF
// when the server dies, however it dies. Then every running turn's process group is
// killed, and every process whose environment carries a running turn's marker (tool
// children that left the group), until none is left. Then it exits.
//
// Lines on stdin:  "+<pgid> <NAME=value>"  a turn started (its group, its marker)
//                  "-<pgid>"                that turn ended
import fs from 'node:fs';

/** @type {Map<number, string>} pgid -> marker (NAME=value) */
const turns = new Map();
let buffered = '';

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    apply(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
  }
});
process.stdin.on('end', () => void cleanUp());
process.stdin.on('error', () => void cleanUp());

/** @param {string} line */
function apply(line) {
  const m = /^([+-])(\d+)(?: (.*))?$/.exec(line);
  if (!m) return;
  const pgid = Number(m[2]);
  if (m[1] === '+') turns.set(pgid, m[3] ?? '');
  else turns.delete(pgid);
}

let cleaning = false;
async function cleanUp() {
  if (cleaning) return;
  cleaning = true;
  for (const pgid of turns.keys()) kill(-pgid);
  const markers = new Set([...turns.values()].filter(Boolean));
  // A shell in a loop may fork again between a scan and its kill: scan until a scan finds nothing.
  for (let round = 0; round < 50 && markers.size > 0; round++) {
    if (killMarked(markers) === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.exit(0);
}

/** @param {Set<string>} markers @returns {number} processes signalled */
function killMarked(markers) {
  let found = 0;
  let entries;
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return 0; // no /proc (not Linux): the process groups were all we could do
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // dead, not yet reaped
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!env.some((v) => markers.has(v))) continue;
      if (kill(pid)) found++;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** @param {number} pid @returns {boolean} */
function kill(pid) {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
