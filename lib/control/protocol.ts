/**
 * The control socket protocol: one JSON object per line each way.
 *   request  {"id": 1, "cmd": "suspend", "args": {"account": "acct-1001", "reason": null}}
 *   response {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": {"code", "message"}}
 * Codes are TG_ERR_* (TG_ERR_CONTROL for a malformed request or an unknown command).
 */
import type { JudgeStateSnapshot } from '../judge/snapshot.js';
import type { AuditRecord, BanRecord } from '../store/store.js';

export interface StatusReport {
  mode: 'enforce' | 'monitor';
  startedAt: number;
  links: { pbx: string; type: string; status: string; since: number }[];
  liveCalls: { pbx: string; callId: string; account: string; destination: string | null; startedAt: number; answeredAt: number | null; cost: number }[];
  accounts: { account: string; live: number; suspended: boolean; spend: Record<string, { spent: number; limit: number | null }> }[];
  global: { spend: Record<string, { spent: number; limit: number | null }> };
  bans: { active: number };
  currency: string;
}

/** What the daemon does for each command. A throw becomes an error response (a TollguardError keeps its code). */
export interface ControlHandler {
  status(): Promise<StatusReport>;
  suspend(account: string, reason: string | null): Promise<void>;
  resume(account: string): Promise<void>;
  reset(account: string): Promise<void>;
  bans(): Promise<BanRecord[]>;
  ban(address: string, forMs: number | null, reason: string | null): Promise<BanRecord>;
  unban(address: string): Promise<boolean>;
  audit(sinceMs: number): Promise<AuditRecord[]>;
  reload(): Promise<{ ok: boolean; message: string }>;
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
