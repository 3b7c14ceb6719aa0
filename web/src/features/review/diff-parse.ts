/**
 * A unified git diff (`git diff --binary`) read into files and hunks, for the diff viewer. One
 * pass over the lines; hunk lines keep their text unhighlighted (highlighting happens only for
 * the lines on screen), so a diff of megabytes parses in milliseconds.
 */
export type DiffLineKind = 'add' | 'del' | 'ctx' | 'note';

export interface DiffLine {
  kind: DiffLineKind;
  text: string;
  /** Line numbers in the old and new file (null on the side the line is not in). */
  oldNo: number | null;
  newNo: number | null;
}

export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

export interface DiffFile {
  /** The path after the change (before it, for a deleted file). */
  path: string;
  oldPath: string | null;
  change: 'added' | 'deleted' | 'modified' | 'renamed';
  binary: boolean;
  added: number;
  removed: number;
  hunks: DiffHunk[];
  /** Lines of all hunks together (for paging). */
  lineCount: number;
}

const unquote = (p: string) => (p.startsWith('"') && p.endsWith('"') ? p.slice(1, -1).replace(/\\(.)/g, '$1') : p);
const stripPrefix = (p: string) => unquote(p).replace(/^[ab]\//, '');

export function parseDiff(text: string): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let hunk: DiffHunk | undefined;
  let oldNo = 0;
  let newNo = 0;
  let inBinaryPatch = false;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    if (line.startsWith('diff --git ')) {
      const m = /^diff --git (?:"?a\/(.+?)"?) (?:"?b\/(.+?)"?)$/.exec(line);
      file = { path: m ? m[2]! : line.slice(11), oldPath: m ? m[1]! : null, change: 'modified', binary: false, added: 0, removed: 0, hunks: [], lineCount: 0 };
      files.push(file);
      hunk = undefined;
      inBinaryPatch = false;
      continue;
    }
    if (!file) continue;
    if (!hunk) {
      if (line.startsWith('new file mode')) file.change = 'added';
      else if (line.startsWith('deleted file mode')) file.change = 'deleted';
      else if (line.startsWith('rename from ')) { file.change = 'renamed'; file.oldPath = line.slice(12); }
      else if (line.startsWith('rename to ')) file.path = line.slice(10);
      else if (line.startsWith('--- ') && line !== '--- /dev/null') file.oldPath = stripPrefix(line.slice(4));
      else if (line.startsWith('+++ ') && line !== '+++ /dev/null') file.path = stripPrefix(line.slice(4));
      else if (line.startsWith('Binary files ') || line === 'GIT binary patch') { file.binary = true; inBinaryPatch = true; }
    }
    if (inBinaryPatch) continue;
    const h = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (h) {
      hunk = { header: line, lines: [] };
      file.hunks.push(hunk);
      oldNo = Number(h[1]);
      newNo = Number(h[2]);
      continue;
    }
    if (!hunk) continue;
    const c = line[0];
    if (c === '+') { hunk.lines.push({ kind: 'add', text: line.slice(1), oldNo: null, newNo: newNo++ }); file.added++; }
    else if (c === '-') { hunk.lines.push({ kind: 'del', text: line.slice(1), oldNo: oldNo++, newNo: null }); file.removed++; }
    else if (c === '\\') hunk.lines.push({ kind: 'note', text: line.slice(1).trim(), oldNo: null, newNo: null });
    else hunk.lines.push({ kind: 'ctx', text: line.slice(1), oldNo: oldNo++, newNo: newNo++ });
    file.lineCount++;
  }
  for (const f of files) if (f.change === 'deleted' && f.oldPath) f.path = f.oldPath;
  return files;
}
