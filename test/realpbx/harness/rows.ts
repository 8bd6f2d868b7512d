import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/wait.js';
import type { StoredCall } from './daemon.js';
import type { RealPbxLab } from './lab-fixture.js';

/**
 * The ended call rows tollguard stored for `destination` (E.164) since `since`: waits until
 * at least one is there and every one of them has ended (the daemon writes the end after the
 * PBX's hangup).
 */
export async function endedRows(lab: RealPbxLab, destination: string, since: number): Promise<StoredCall[]> {
  const rows = (): StoredCall[] => (lab.tg?.calls() ?? []).filter((r) => r.destination === destination && r.startedAt >= since);
  await waitFor(`a stored call row to ${destination}${lab.why()}`, () => rows().length > 0 && rows().every((r) => r.endedAt !== null), 10_000, 100);
  return rows();
}

/** Every stored row to `destination` since `since` is under `account`; returns the rows. */
export async function assertAccount(lab: RealPbxLab, destination: string, since: number, account: string): Promise<StoredCall[]> {
  const rows = await endedRows(lab, destination, since);
  assert.deepEqual([...new Set(rows.map((r) => r.account))], [account], `stored rows to ${destination}: ${JSON.stringify(rows)}${lab.why()}`);
  return rows;
}

/**
 * A call to `destination` cut since `since` was judged under `account`: tollguard's audit
 * record of the cut (a call cut at its dial has no call row) names that account, and no other.
 */
export async function assertCutUnder(lab: RealPbxLab, destination: string, since: number, account: string): Promise<void> {
  const cuts = (): Record<string, unknown>[] =>
    (lab.tg?.audits() ?? []).filter((a) => a.action === 'cut' && a.at >= since && a.detail.destination === destination).map((a) => a.detail);
  await waitFor(`tollguard's audit record of the cut to ${destination}${lab.why()}`, () => cuts().length > 0, 10_000, 100);
  assert.deepEqual([...new Set(cuts().map((d) => d.account))], [account], `cuts to ${destination}: ${JSON.stringify(cuts())}`);
}

/**
 * A row's cost agrees with its own destination's rate: rate as in the deck, and no more than
 * the rate over the answered time (plus one increment) allows.
 */
export function assertRowConsistent(row: StoredCall, perMinute: number): void {
  assert.equal(row.rate?.perMinute, perMinute, `row ${row.callId} to ${row.destination} has rate ${JSON.stringify(row.rate)}`);
  if (row.answeredAt === null || row.endedAt === null) return;
  const r = row.rate;
  const billedSeconds = Math.max(r.firstIncrement, Math.ceil((row.endedAt - row.answeredAt) / 1000 / r.nextIncrement) * r.nextIncrement) + r.nextIncrement;
  const most = r.connectFee + (perMinute * billedSeconds) / 60;
  assert.ok(row.cost <= most + 1e-9, `row ${row.callId} to ${row.destination}: cost ${row.cost}, but ${(row.endedAt - row.answeredAt) / 1000} s answered at its own rate ${perMinute}/min cost at most ${most.toFixed(4)}`);
}
