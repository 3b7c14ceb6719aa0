/**
 * Where an event stands in the live stream. With the durable log it is the event's row in
 * live_events, (xid, seq), written `<xid>.<seq>` in decimal: the same in every process and across
 * restarts. The in-process bus (no log: unit tests) uses (0, n) and writes `<epoch>-<n>`.
 */
export interface Position {
  readonly xid: bigint;
  readonly seq: bigint;
}

export const ORIGIN: Position = { xid: 0n, seq: 0n };

export function comparePositions(a: Position, b: Position): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

export const isAfter = (a: Position, b: Position): boolean => comparePositions(a, b) > 0;

/** `<xid>.<seq>`; xid8 and bigint both fit 20 decimal digits. */
export const formatDurableId = (p: Position): string => `${p.xid}.${p.seq}`;

export function parseDurableId(id: string): Position | undefined {
  const m = /^(\d{1,20})\.(\d{1,19})$/.exec(id.trim());
  return m ? { xid: BigInt(m[1]!), seq: BigInt(m[2]!) } : undefined;
}
