/**
 * The maintenance-window override (seed 003, section 2): TG_SECURITY_HARD_FAIL=0 lets a failing
 * preflight continue, loudly, and only until TG_SECURITY_OVERRIDE_UNTIL (required: an ISO 8601
 * time with its zone, in the future, at most 72 hours ahead). The evidence records who (the OS
 * user), until when, and TG_SECURITY_OVERRIDE_REASON when given. Any other value of either
 * variable is a configuration error (TG_SECURITY_OVERRIDE_INVALID): a mistyped override must
 * not silently mean "no override", nor "override".
 */
import * as os from 'node:os';

import { codedError, ErrorCode } from '../errors';

export const OVERRIDE_MAX_HOURS = 72;

export interface SecurityOverride {
  /** The OS user that started the process (os.userInfo), and its uid. */
  readonly user: string;
  readonly uid: number;
  readonly host: string;
  /** As given in TG_SECURITY_OVERRIDE_UNTIL. */
  readonly until: string;
  readonly untilAt: number;
  readonly reason: string | null;
}

function osUser(): { user: string; uid: number } {
  try {
    const u = os.userInfo();
    return { user: u.username, uid: u.uid };
  } catch {
    // A uid with no passwd entry (containers): the uid is still who it was.
    const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
    return { user: `uid:${uid}`, uid };
  }
}

/** The override the environment asks for, null when none; throws when it is malformed. */
export function readOverride(env: NodeJS.ProcessEnv = process.env, now: number = Date.now()): SecurityOverride | null {
  const hard = env.TG_SECURITY_HARD_FAIL;
  if (hard === undefined || hard === '' || hard === '1') return null;
  if (hard !== '0') throw codedError(ErrorCode.SecurityOverrideInvalid, `TG_SECURITY_HARD_FAIL must be 1 (the default) or 0, not ${JSON.stringify(hard)}`);
  const until = env.TG_SECURITY_OVERRIDE_UNTIL;
  if (until === undefined || until.trim() === '') {
    throw codedError(
      ErrorCode.SecurityOverrideInvalid,
      `TG_SECURITY_HARD_FAIL=0 needs TG_SECURITY_OVERRIDE_UNTIL: when the override ends (ISO 8601 with its zone, at most ${OVERRIDE_MAX_HOURS} h ahead)`,
    );
  }
  const untilAt = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(until) ? Date.parse(until) : NaN;
  if (Number.isNaN(untilAt)) throw codedError(ErrorCode.SecurityOverrideInvalid, `TG_SECURITY_OVERRIDE_UNTIL ${JSON.stringify(until)} is not an ISO 8601 time with its zone (2026-12-01T18:00:00Z)`);
  if (untilAt <= now) throw codedError(ErrorCode.SecurityOverrideInvalid, `TG_SECURITY_OVERRIDE_UNTIL ${until} has passed: the override has ended`);
  if (untilAt - now > OVERRIDE_MAX_HOURS * 3_600_000) {
    throw codedError(ErrorCode.SecurityOverrideInvalid, `TG_SECURITY_OVERRIDE_UNTIL ${until} is more than ${OVERRIDE_MAX_HOURS} hours ahead: an override is for a maintenance window`);
  }
  const reason = env.TG_SECURITY_OVERRIDE_REASON?.trim();
  return { ...osUser(), host: os.hostname(), until, untilAt, reason: reason ? reason : null };
}
