/**
 * A huge event (a 4 MB message, a tool call with a large input) is not sent to
 * clients as one frame: they get a reference instead, the event with its item
 * cut down to identifying fields, `truncated: true` and the `url` of a GET
 * route that returns the whole item. Clients fetch it when they need it.
 */
import type { OrchestratorEvent } from './bus.ts';

export type EventReference = Omit<OrchestratorEvent, 'message' | 'log' | 'session' | 'event' | 'approval'> & {
  truncated: true;
  url: string;
} & Record<string, unknown>;

export function referenceTo(e: OrchestratorEvent): EventReference {
  const base = { type: e.type, session_id: e.session_id, at: e.at, truncated: true as const };
  const sessionUrl = `/api/sessions/${e.session_id}`;
  switch (e.type) {
    case 'message.created': {
      const { id, session_id, direction, source, timestamp } = e.message;
      return { ...base, url: `${sessionUrl}/messages/${id}`, message: { id, session_id, direction, source, timestamp } };
    }
    case 'log.created': {
      const { id, session_id, tool_use_id, status, timestamp } = e.log;
      return { ...base, url: `${sessionUrl}/logs/${id}`, log: { id, session_id, tool_use_id, status, timestamp } };
    }
    case 'session_event.created': {
      const { id, session_id, event, timestamp } = e.event;
      return { ...base, url: `${sessionUrl}/events/${id}`, event: { id, session_id, event, timestamp } };
    }
    case 'approval.updated': {
      const { id, session_id, status, tool_name } = e.approval;
      return { ...base, url: `/api/approvals/${id}`, approval: { id, session_id, status, tool_name } };
    }
    case 'session.created':
    case 'session.updated': {
      // The owner stays: owner-limited streams learn it from this event (src/auth/session-access.ts).
      const { id, status, updated_at, owner } = e.session;
      return { ...base, url: sessionUrl, session: { id, status, updated_at, owner } };
    }
    default: {
      const never: never = e;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}
