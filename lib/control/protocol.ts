/**
 * The control socket protocol: one JSON object per line each way.
 *   request  {"id": 1, "cmd": "suspend", "args": {"account": "acct-1001", "reason": null}}
 *   response {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": {"code", "message"}}
 * Codes are TG_ERR_* (TG_ERR_CONTROL for a malformed request or an unknown command).
 */
import type { JudgeStateSnapshot } from '../judge/snapshot.js';
import type { LinkError } from '../net/link-error.js';
import type { Operator } from './peer.js';
import type { AuditRecord, BanRecord } from '../store/store.js';

export interface StatusReport {
  mode: 'enforce' | 'monitor';
  startedAt: number;
  /** `since`: in the current status; `downSince`: not ready since (null when ready), across attempts. */
  links: { pbx: string; type: string; status: string; since: number; downSince: number | null; lastError: LinkError | null; warnings: string[] }[];
  liveCalls: { pbx: string; callId: string; account: string; destination: string | null; startedAt: number; answeredAt: number | null; cost: number }[];
  accounts: { account: string; live: number; suspended: boolean; spend: Record<string, { spent: number; limit: number | null }> }[];
  global: { spend: Record<string, { spent: number; limit: number | null }> };
  bans: { active: number };
  currency: string;
  /** What is wrong outside the PBXs (the store unreachable, the clock stepped), since when. */
  problems: { source: string; code: string; text: string; since: number }[];
}

/**
 * What the daemon does for each command. A throw becomes an error response (a TollguardError
 * keeps its code). `by` is the peer of the control connection (null when the kernel would not
 * say): commands that change something record it in the audit trail. `force` acts on an
 * account that neither the config nor the store knows (otherwise refused: a typo).
 */
export interface ControlHandler {
  status(): Promise<StatusReport>;
  suspend(account: string, reason: string | null, force: boolean, by: Operator | null): Promise<void>;
  /** False when the account was not suspended. */
  resume(account: string, force: boolean, by: Operator | null): Promise<boolean>;
  reset(account: string, force: boolean, by: Operator | null): Promise<void>;
  bans(): Promise<BanRecord[]>;
  ban(address: string, forMs: number | null, reason: string | null, by: Operator | null): Promise<BanRecord>;
  unban(address: string, by: Operator | null): Promise<boolean>;
  audit(sinceMs: number): Promise<AuditRecord[]>;
  reload(by: Operator | null): Promise<{ ok: boolean; message: string }>;
  /** Read-only: what the judge would know of these accounts now (explain). */
  judgeState(accounts: string[]): Promise<JudgeStateSnapshot>;
}

export type ControlCommand = keyof ControlHandler;

export interface ControlRequest {
  id: number | string;
  cmd: string;
  args?: Record<string, unknown>;
}

export type ControlResponse =
  | { id: number | string | null; ok: true; result: unknown }
  | { id: number | string | null; ok: false; error: { code: string; message: string } };

/** A request line longer than this is not a CLI talking: the connection is closed. */
export const MAX_LINE_BYTES = 64 * 1024;
