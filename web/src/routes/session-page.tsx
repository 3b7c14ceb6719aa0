import { useState } from 'react';
import { ApiError } from '../api/client.ts';
import { formatTime } from '../components/format.ts';
import { QueryState, StaleOf } from '../components/notices.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { PendingApprovalsBanner } from '../features/approvals/pending-banner.tsx';
import { PolicyDetails } from '../features/approvals/policy-details.tsx';
import { canChange } from '../features/auth/access.ts';
import { useMe } from '../features/auth/auth.tsx';
import { Composer } from '../features/session/composer.tsx';
import { Conversation } from '../features/session/conversation.tsx';
import { MetadataPanel } from '../features/session/metadata-panel.tsx';
import { SessionActions } from '../features/session/session-actions.tsx';
import { ToolTimeline } from '../features/session/tool-timeline.tsx';
import { useSessionData } from '../features/session/use-session.ts';
import { SessionTitle } from '../features/session/session-title.tsx';
import { ChangesPanel } from '../features/review/changes-panel.tsx';
import { Timeline, turnEntries } from '../features/review/timeline.tsx';
import { useTurns } from '../features/review/use-review.ts';
import { Link } from './router.tsx';

const TABS = ['conversation', 'turns', 'changes', 'tools', 'details'] as const;
type Tab = (typeof TABS)[number];

/** One session. Wide screens show all panels; a phone shows one at a time, picked with the tabs. */
export function SessionPage({ id }: { id: string }) {
  const { session, messages, logs } = useSessionData(id);
  const [tab, setTab] = useState<Tab>('conversation');
  const [diffTurn, setDiffTurn] = useState<number | undefined>(undefined);
  const me = useMe();
  const turns = useTurns(session.data);
  if (session.error instanceof ApiError && session.error.status === 404) {
    return (
      <main className="page">
        <h1>Session not found</h1>
        <p>There is no session {id}. <Link to="/">Back to sessions</Link></p>
      </main>
    );
  }
  const s = session.data;
  // Controls that would be refused (viewer, another user's session) are not shown at all.
  const writable = s !== undefined && canChange(me, s);
  const counts: Record<Tab, string> = { conversation: `${messages.data?.length ?? 0}`, turns: `${turns.data?.length ?? 0}`, changes: '', tools: `${logs.data?.length ?? 0}`, details: '' };
  const showDiff = (turnId: number | undefined) => {
    setDiffTurn(turnId);
    setTab('changes');
    document.getElementById('panel-changes')?.scrollIntoView?.({ block: 'start' });
  };
  return (
    <main className="page session-page" data-tab={tab}>
      <nav className="crumbs" aria-label="Breadcrumb"><Link to="/">Sessions</Link> /</nav>
      <QueryState q={session} what="the session" stale={false} />
      <StaleOf queries={[session, messages, logs]} />
      {s && (
        <div className="session-head">
          <div>
            <SessionTitle key={s.id} session={s} writable={writable} />
            <p className="muted">
              {s.title && <><span className="path" title={s.project_path}>{s.project_path}</span> · </>}
              <StatusBadge session={s} /> · {s.project_type} · {s.source}{me.auth === 'keys' && s.owner ? ` · owner ${s.owner}` : ''} · updated <time dateTime={s.updated_at}>{formatTime(s.updated_at)}</time>
            </p>
          </div>
          {writable && <SessionActions session={s} />}
        </div>
      )}
      <PendingApprovalsBanner sessionId={id} />
      <div className="tabs" role="tablist" aria-label="Session panels">
        {TABS.map((t) => (
          <button key={t} type="button" role="tab" id={`tab-${t}`} aria-selected={tab === t} aria-controls={`panel-${t}`} onClick={() => setTab(t)}>
            {t === 'tools' ? 'Tool calls' : t[0]?.toUpperCase() + t.slice(1)} {counts[t] && <span className="count">{counts[t]}</span>}
          </button>
        ))}
      </div>
      <div className="panels">
        <section id="panel-conversation" className="panel conversation-panel" aria-labelledby="h-conversation" data-active={tab === 'conversation'}>
          <h2 id="h-conversation">Conversation</h2>
          <QueryState q={messages} what="the conversation" stale={false} />
          {messages.data && <Conversation messages={messages.data} />}
          {s?.status === 'active' && s.turn_state === 'running' && <p className="working" role="status">Claude is working…</p>}
          {s?.status === 'active' && s.turn_state === 'queued' && <p className="working" role="status">Queued{s.queue_position != null ? ` (#${s.queue_position})` : ''}: waiting for a free runner…</p>}
          {s && writable && <Composer session={s} />}
          {s && !writable && <p className="muted read-only" data-testid="read-only">Read only: signed in as {me.name} ({me.role}).</p>}
        </section>
        <section id="panel-turns" className="panel turns-panel" aria-labelledby="h-turns" data-active={tab === 'turns'}>
          <h2 id="h-turns">Turns</h2>
          <QueryState q={turns} what="the turns" stale={false} />
          {s && turns.data && <Timeline entries={turnEntries(turns.data)} onShowDiff={showDiff} recordOnly={s.managed === false} />}
        </section>
        <section id="panel-changes" className="panel changes-panel" aria-labelledby="h-changes" data-active={tab === 'changes'}>
          <h2 id="h-changes">Changes</h2>
          {s && <ChangesPanel session={s} turns={turns.data ?? []} turn={diffTurn} onPick={setDiffTurn} />}
        </section>
        <section id="panel-tools" className="panel tools-panel" aria-labelledby="h-tools" data-active={tab === 'tools'}>
          <h2 id="h-tools">Tool calls</h2>
          <QueryState q={logs} what="the tool log" stale={false} />
          {logs.data && <ToolTimeline logs={logs.data} />}
        </section>
        <section id="panel-details" className="panel details-panel" aria-labelledby="h-details" data-active={tab === 'details'}>
          <h2 id="h-details">Details</h2>
          {s && <MetadataPanel session={s} />}
          {s && <PolicyDetails policy={s.policy} />}
        </section>
      </div>
    </main>
  );
}
