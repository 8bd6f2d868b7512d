import assert from 'node:assert/strict';
import type { MemoryLogger } from '../../lib/notify/logger.js';
import type { PbxDriver } from './daemon-harness.js';
import type { DaemonRig } from './daemon-rig.js';
import { waitFor } from './wait.js';

/** A line a test expects the daemon to log: its level, its exact message (or a pattern) and its code. */
export interface ExpectedLine {
  level: 'error' | 'warn' | 'info';
  message: string | RegExp;
  code: string;
}

/** The lines like `l`, from line `from` on. */
export function linesLike(log: MemoryLogger, l: ExpectedLine, from = 0): { level: string; message: string; meta: Record<string, unknown> }[] {
  return log.lines.slice(from).filter((x) => x.level === l.level && (typeof l.message === 'string' ? x.message === l.message : l.message.test(x.message)) && x.meta.code === l.code);
}

/** Waits for the line (a daemon logs after the event that caused it), from line `from` on, and returns it. */
export async function logged(log: MemoryLogger, l: ExpectedLine, ms = 10_000, from = 0): Promise<{ message: string; meta: Record<string, unknown> }> {
  try {
    return await waitFor(`${l.level} "${String(l.message)}" ${l.code}`, () => linesLike(log, l, from).at(-1), ms);
  } catch (err) {
    const said = log.lines.filter((x) => x.level !== 'debug').map((x) => `${x.level} ${x.message} ${JSON.stringify(x.meta.code ?? '')}`).join('\n');
    throw new Error(`${(err as Error).message}; the daemon logged:\n${said}`);
  }
}

export interface Dial {
  account: string;
  user: string;
  dialed: string;
}

/**
 * A call that must be refused: it never answers on its own, so only tollguard can end it,
 * and it must be for `code`. No clock is read: the test waits for the hangup, not for a time.
 */
export async function refused(rig: DaemonRig, drv: PbxDriver, d: Dial, code: string, ms = 10_000): Promise<void> {
  const c = drv.place({ ...d, answerAfterMs: null });
  await rig.waitFor(() => c.cutByUs(), ms, `${drv.pbx}: ${d.account} -> ${d.dialed} cut for ${code}`);
  const cut = rig.cuts().find((x) => x.call.pbx === drv.pbx && x.call.callId === c.id);
  assert.equal(cut?.verdict.code, code, `${drv.pbx}: ${d.account} -> ${d.dialed}`);
  assert.equal(c.answered(), false);
}

/** An emergency call: answered, judged exempt, never cut; the caller hangs up. */
export async function emergencyPasses(rig: DaemonRig, drv: PbxDriver, d: Dial): Promise<void> {
  const c = drv.place({ ...d, answerAfterMs: 50 });
  const exempt = (): boolean => rig.log.find('emergency call: exempt from every rule').some((l) => l.meta.pbx === drv.pbx && l.meta.callId === c.id);
  await rig.waitFor(() => c.answered() && exempt(), 10_000, `${drv.pbx}: ${d.dialed} from ${d.account} answered and exempt`);
  c.hangup();
  await rig.waitFor(() => c.ended(), 5000, `${drv.pbx}: ${d.dialed} hung up by the caller`);
  assert.equal(c.cutByUs(), false, `${drv.pbx}: ${d.dialed} from ${d.account} was cut`);
  assert.deepEqual(rig.cuts().filter((x) => x.call.pbx === drv.pbx && x.call.callId === c.id), []);
}
