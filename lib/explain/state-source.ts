import type { Config } from '../config/types.js';
import { controlRequest } from '../control/client.js';
import type { JudgeStateSnapshot, SpendSnapshot } from '../judge/snapshot.js';
import { WINDOWS, windowBounds } from '../policy/windows.js';
import { openStoreReader } from '../store/read-only.js';

export interface StateFound {
  source: 'daemon' | 'store' | 'config';
  /** Where it came from and what it holds, said in the output. */
  detail: string;
  snapshot: JudgeStateSnapshot;
}

const CONTROL_TIMEOUT_MS = 3000;

/**
 * The facts about accounts that `explain` judges with: a running daemon's live state (its
 * control socket), else the stored state read-only (spend per window and suspensions; no
 * live calls), else nothing (config alone). Each step that fails says why.
 */
export async function findState(config: Config, accounts: readonly string[], now: number): Promise<StateFound> {
  const socket = config.control.socket;
  const live = await controlRequest(socket, 'judgeState', { accounts }, CONTROL_TIMEOUT_MS);
  if (live.ok) {
    const snap = live.value as JudgeStateSnapshot;
    return { source: 'daemon', detail: `live state of the running daemon (${socket}) as of ${new Date(snap.at).toISOString()}`, snapshot: snap };
  }
  const noDaemon = live.error.message;
  const reader = await openStoreReader(config);
  if (!reader.ok) {
    return { source: 'config', detail: `config alone: nothing suspended, nothing spent, no live calls (${noDaemon}; ${reader.error.message})`, snapshot: empty(now, config.home.timezone) };
  }
  try {
    const snap = empty(now, config.home.timezone);
    for (const a of accounts) snap.accounts[a] = { suspended: false, liveCalls: 0, dialsLastMinute: 0, recentDialed: [], spend: blankSpend(now, config.home.timezone) };
    for (const w of WINDOWS) {
      const totals = await reader.value.spendSince(windowBounds(w, now, config.home.timezone).start);
      let all = 0;
      for (const [account, spent] of totals) {
        all += spent;
        const a = snap.accounts[account];
        if (a) a.spend[w].spent = spent;
      }
      snap.global.spend[w].spent = all;
    }
    for (const s of await reader.value.suspensions()) {
      const a = snap.accounts[s.account];
      if (a) a.suspended = true;
    }
    return { source: 'store', detail: `stored state, read-only from ${reader.value.where}: spend per window and suspensions; no live calls (${noDaemon})`, snapshot: snap };
  } catch (err) {
    return { source: 'config', detail: `config alone: nothing suspended, nothing spent, no live calls (${noDaemon}; ${reader.value.where}: ${(err as Error).message})`, snapshot: empty(now, config.home.timezone) };
  } finally {
    await reader.value.close();
  }
}

function blankSpend(now: number, timeZone: string): SpendSnapshot {
  const out = {} as SpendSnapshot;
  for (const w of WINDOWS) out[w] = { spent: 0, windowEnd: windowBounds(w, now, timeZone).end, live: [] };
  return out;
}

function empty(now: number, timeZone: string): JudgeStateSnapshot {
  return { at: now, accounts: {}, global: { liveCalls: 0, spend: blankSpend(now, timeZone) } };
}
