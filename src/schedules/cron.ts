/** Cron expressions in a time zone (cron-parser, which pg-boss uses too): checking and next times. */
import { CronExpressionParser } from 'cron-parser';
import { badRequest } from '../lib/errors.ts';

/** 400 invalid_timezone unless an IANA zone name this Node knows (e.g. Europe/Berlin, UTC). */
export function checkTimezone(tz: string, field = 'body.timezone'): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw badRequest('invalid_timezone', `${field}: "${tz}" is not a time zone (an IANA name such as Europe/Berlin or UTC)`);
  }
  return tz;
}

/** 400 invalid_cron unless five fields (minute hour day month weekday) cron-parser accepts. */
export function checkCron(cron: string, tz: string, field = 'body.cron'): string {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) throw badRequest('invalid_cron', `${field}: expected five fields (minute hour day-of-month month day-of-week), got ${fields.length}`);
  try {
    CronExpressionParser.parse(cron, { tz, strict: false }).next();
  } catch (e: unknown) {
    throw badRequest('invalid_cron', `${field}: ${(e as Error).message}`);
  }
  return cron.trim();
}

/** The next `count` times strictly after `after`. */
export function nextTimes(cron: string, tz: string, after: Date, count = 1): Date[] {
  const it = CronExpressionParser.parse(cron, { tz, currentDate: after });
  return Array.from({ length: count }, () => it.next().toDate());
}

/** The latest time at or before `at` (undefined if the expression never matched before it). */
export function latestAtOrBefore(cron: string, tz: string, at: Date): Date | undefined {
  try {
    return CronExpressionParser.parse(cron, { tz, currentDate: new Date(at.getTime() + 1) }).prev().toDate();
  } catch {
    return undefined;
  }
}
