/**
 * The diff viewer: the files a diff touches with their +/- counts, each opening to its hunks with
 * syntax colouring. Large diffs stay responsive because little is on screen: files are listed a
 * page at a time, a file's lines are drawn only when it is opened, and then a page of lines at a
 * time ("Show more lines").
 */
import { useMemo, useState } from 'react';
import { parseDiff, type DiffFile, type DiffLine } from './diff-parse.ts';
import { highlightLine, languageOf } from './highlight.tsx';

export const FILES_PER_PAGE = 50;
export const LINES_PER_PAGE = 400;

export function DiffViewer({ diff, truncated }: { diff: string; truncated: boolean }) {
  const files = useMemo(() => parseDiff(diff), [diff]);
  const [shown, setShown] = useState(FILES_PER_PAGE);
  if (files.length === 0) return <p className="empty" data-testid="diff-empty">No changes.</p>;
  const added = files.reduce((n, f) => n + f.added, 0);
  const removed = files.reduce((n, f) => n + f.removed, 0);
  return (
    <div className="diff" data-testid="diff">
      <p className="diff-total muted">
        {files.length} file{files.length === 1 ? '' : 's'} changed · <span className="plus">+{added}</span> <span className="minus">−{removed}</span>
      </p>
      {truncated && <p className="notice" role="note">The diff is longer than the server sends (DIFF_MAX_BYTES): the end is cut, and the last file may be incomplete.</p>}
      <ul className="diff-files">
        {files.slice(0, shown).map((f, i) => <FileDiff key={`${i}:${f.path}`} file={f} />)}
      </ul>
      {shown < files.length && (
        <button type="button" className="more" onClick={() => setShown((n) => n + FILES_PER_PAGE)}>
          Show {Math.min(FILES_PER_PAGE, files.length - shown)} more files ({files.length - shown} not shown)
        </button>
      )}
    </div>
  );
}

function FileDiff({ file }: { file: DiffFile }) {
  const [open, setOpen] = useState(false);
  return (
    <li className="diff-file" data-testid="diff-file" data-path={file.path}>
      <details open={open} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>
          <span className="diff-path" title={file.oldPath && file.oldPath !== file.path ? `${file.oldPath} → ${file.path}` : file.path}>{file.path}</span>
          <span className="diff-counts">
            {file.change !== 'modified' && <span className={`tag ${file.change}`}>{file.change}</span>}
            {file.binary ? <span className="tag binary">binary</span> : <><span className="plus">+{file.added}</span> <span className="minus">−{file.removed}</span></>}
          </span>
        </summary>
        {open && <FileBody file={file} />}
      </details>
    </li>
  );
}

function FileBody({ file }: { file: DiffFile }) {
  const [limit, setLimit] = useState(LINES_PER_PAGE);
  const lang = languageOf(file.path);
  if (file.binary) return <p className="muted diff-note">Binary file {file.change === 'modified' ? 'changed' : file.change}: not shown.</p>;
  if (file.hunks.length === 0) return <p className="muted diff-note">No line changes (mode or empty file).</p>;
  // Draw hunks until the line budget is spent.
  let budget = limit;
  const hunks: { header: string; lines: DiffLine[] }[] = [];
  for (const h of file.hunks) {
    if (budget <= 0) break;
    hunks.push({ header: h.header, lines: h.lines.slice(0, budget) });
    budget -= h.lines.length;
  }
  return (
    <div className="diff-body">
      <table className="diff-table">
        {hunks.map((h, i) => (
          <tbody key={i}>
            <tr className="hunk-head"><td colSpan={3}>{h.header}</td></tr>
            {h.lines.map((l, j) => (
              <tr key={j} className={`dl ${l.kind}`}>
                <td className="ln">{l.oldNo ?? ''}</td>
                <td className="ln">{l.newNo ?? ''}</td>
                <td className="code"><span className="sign">{l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ' '}</span>{l.kind === 'note' ? l.text : highlightLine(l.text, lang)}</td>
              </tr>
            ))}
          </tbody>
        ))}
      </table>
      {limit < file.lineCount && (
        <button type="button" className="more" onClick={() => setLimit((n) => n + LINES_PER_PAGE * 5)}>
          Show more lines ({file.lineCount - limit} not shown)
        </button>
      )}
    </div>
  );
}
