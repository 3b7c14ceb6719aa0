/** The approvals part of the Config (APPROVAL_* settings). */
import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../settings.ts';
import { OPEN_POLICY, policySchema, type Policy } from './policy.ts';

export interface ApprovalsConfig {
  /** The server's policy (APPROVAL_POLICY or APPROVAL_POLICY_FILE); default: allow everything the permission mode allows. */
  policy: Policy;
  /** How long a turn holds an `ask` call open waiting for a decision, ms. */
  waitMs: number;
  /** How long a request waits for a person before its timeout action, seconds. */
  timeoutS: number;
}

export function approvalsConfigFrom(c: { APPROVAL_POLICY?: string | undefined; APPROVAL_POLICY_FILE?: string | undefined; APPROVAL_WAIT_S: number; APPROVAL_TIMEOUT_S: number }): ApprovalsConfig {
  return { policy: serverPolicy(c.APPROVAL_POLICY, c.APPROVAL_POLICY_FILE), waitMs: c.APPROVAL_WAIT_S * 1000, timeoutS: c.APPROVAL_TIMEOUT_S };
}

function serverPolicy(text: string | undefined, file: string | undefined): Policy {
  if (text && file) throw new ConfigError('Invalid configuration:\n  APPROVAL_POLICY and APPROVAL_POLICY_FILE: set one of them, not both');
  const name = file ? 'APPROVAL_POLICY_FILE' : 'APPROVAL_POLICY';
  let source = text;
  if (file) {
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch (e: unknown) {
      throw new ConfigError(`Invalid configuration:\n  APPROVAL_POLICY_FILE: cannot read ${file} (${(e as Error).message})`);
    }
  }
  if (!source?.trim()) return OPEN_POLICY;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (e: unknown) {
    throw new ConfigError(`Invalid configuration:\n  ${name}: not JSON (${(e as Error).message})`);
  }
  const parsed = policySchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`Invalid configuration:\n  ${name}: ${z.prettifyError(parsed.error).replaceAll('\n', '\n    ')}`);
  return parsed.data;
}
