import assert from 'node:assert/strict';
import { amiDriver, eslDriver, type PbxDriver, type PlacedCall } from '../helpers/daemon-harness.js';
import { DaemonRig } from '../helpers/daemon-rig.js';
import { dialedForms, IRSF_CORPUS } from '../helpers/irsf-corpus.js';

/**
 * Issue 12, point 1, through the real daemon and both embedded PBXs (the recorded event
 * shapes over TCP): from an account with international off, every form of every IRSF
 * destination is cut before the far end answers; national numbers and short codes are not;
 * digits that are no number are refused with their own reason code.
 */
describe('IRSF corpus in every dialed form, end to end (both PBXs)', function () {
  this.timeout(60_000);
  let rig: DaemonRig;
  let drivers: PbxDriver[];

  before(async () => {
    rig = await DaemonRig.start({ freeswitch: true });
    drivers = [amiDriver(rig.ami!), eslDriver(rig.esl!)];
  });
  after(async () => {
    await rig.stop();
  });

  /** Places every number at once on every PBX from acct-1002 (international off). */
  async function placeAll(numbers: string[], answerAfterMs: number, hangupAfterMs: number | null): Promise<{ pbx: string; call: PlacedCall }[]> {
    const placed = drivers.flatMap((d) => numbers.map((dialed) => ({ pbx: d.pbx, call: d.place({ account: 'acct-1002', user: '1002', dialed, answerAfterMs, hangupAfterMs }) })));
    await rig.waitFor(() => placed.every((p) => p.call.ended()), 20_000, 'every call ended');
    return placed;
  }

  const codeOf = (pbx: string, dialed: string): string | undefined =>
    rig.cuts().find((a) => a.call.pbx === pbx && a.call.dialed === dialed)?.verdict.code;

  it('cuts every form (+, 011, 00, E.164 digits) of every IRSF destination before answer', async () => {
    const numbers = IRSF_CORPUS.flatMap((e) => dialedForms(e.e164));
    const placed = await placeAll(numbers, 1500, null);
    for (const { pbx, call } of placed) {
      assert.ok(call.cutByUs(), `${pbx} ${call.dialed}: not cut by tollguard`);
      assert.ok(!call.answered(), `${pbx} ${call.dialed}: answered before the cut`);
      const code = codeOf(pbx, call.dialed);
      assert.ok(code === 'DEST_DENIED' || code === 'DEST_INTERNATIONAL_DISABLED', `${pbx} ${call.dialed}: ${code}`);
    }
    assert.equal(placed.length, numbers.length * 2);
  });

  it('lets national numbers and short codes through', async () => {
    const numbers = ['2125551234', '12125551234', '+12125551234', '4422345678', '411', '611'];
    const placed = await placeAll(numbers, 20, 300);
    for (const { pbx, call } of placed) {
      assert.ok(call.answered(), `${pbx} ${call.dialed}: not answered`);
      assert.ok(!call.cutByUs(), `${pbx} ${call.dialed}: cut (${codeOf(pbx, call.dialed)})`);
    }
  });

  it('refuses digits that are no number with DEST_INVALID, before answer', async () => {
    const numbers = ['5551234', '19765551234', '1010321011442079460000'];
    const placed = await placeAll(numbers, 1500, null);
    for (const { pbx, call } of placed) {
      assert.ok(call.cutByUs() && !call.answered(), `${pbx} ${call.dialed}: not cut before answer`);
      assert.equal(codeOf(pbx, call.dialed), 'DEST_INVALID', `${pbx} ${call.dialed}`);
    }
    const logged = rig.log.find('cutting call').filter((l) => l.meta.code === 'DEST_INVALID');
    assert.equal(logged.length, placed.length, 'each cut is logged with its code');
  });
});
