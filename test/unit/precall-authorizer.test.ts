import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.js';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/types.js';
import { Enforcer, type EnforcerAction } from '../../lib/enforce/enforcer.js';
import { Journal } from '../../lib/enforce/journal.js';
import type { JudgeRules } from '../../lib/judge/rules.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import type { CallOrigin } from '../../lib/pbx/events.js';
import { Authorizer, type PrecallOutcome } from '../../lib/precall/authorizer.js';
import { PENDING_MS } from '../../lib/precall/pending.js';
import type { PrecallAnswer } from '../../lib/precall/request.js';
import { buildRules } from '../../lib/judge/rules.js';
import { RateDeck } from '../../lib/rating/deck.js';
import { dialing, origin } from '../helpers/call-events.js';
import { IntelRig } from '../helpers/intel-rig.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { RecordingAdapter } from '../helpers/recording-adapter.js';

const DECK = `prefix,rate_per_min,connect_fee,first_increment,next_increment,description
+44,0.60,0,1,1,United Kingdom
+1,0.01,0,6,6,NANP
`;
const UK = '011442079460000';

function config(accounts: string, mode = 'enforce'): Config {
  const res = parseConfig(`
mode: ${mode}
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }
emergency: { numbers: ["933"] }
destinations: { deny: ["+881", CU] }
rates: { currency: USD, unrated: deny }
accounts:
${accounts}
`, 'precall.yaml', {});
  if (!res.ok) throw res.error;
  return res.value.config;
}

interface Rig {
  clock: ManualClock;
  store: MemoryStore;
  pbx: RecordingAdapter;
  enforcer: Enforcer;
  authorizer: Authorizer;
  outcomes: PrecallOutcome[];
  actions: EnforcerAction[];
  log: MemoryLogger;
}

async function rig(cfg: Config): Promise<Rig> {
  const clock = new ManualClock();
  const log = new MemoryLogger();
  const store = new MemoryStore();
  const pbx = new RecordingAdapter('office', clock);
  const deck = RateDeck.parse(DECK, 'rates.csv', { currency: 'USD' });
  if (!deck.ok) throw deck.error;
  const rules: JudgeRules = { config: cfg, classifier: new NumberClassifier({ homeCountry: 'US', emergencyNumbers: cfg.emergency.numbers }), deck: deck.value };
  const actions: EnforcerAction[] = [];
  const outcomes: PrecallOutcome[] = [];
  let authorizer: Authorizer | null = null;
  const enforcer = new Enforcer(rules, {
    clock, log, store, adapters: new Map([['office', pbx]]), onAction: (a) => actions.push(a), admitted: (call) => authorizer?.claim(call) ?? false,
  });
  await enforcer.start();
  authorizer = new Authorizer({
    clock, log, journal: new Journal({ store, clock, log }), rules: () => rules, state: enforcer.state,
    suspend: (account, reason, code) => void enforcer.suspend(account, reason, code), onOutcome: (o) => outcomes.push(o),
  });
  return { clock, store, pbx, enforcer, authorizer, outcomes, actions, log };
}

let seq = 0;
function ask(r: Rig, account: string, dialed: string, over: Partial<CallOrigin> = {}, known = true): PrecallAnswer {
  const id = `1795527952.${seq++}`;
  return r.authorizer.authorize({ pbx: 'office', via: 'agi', channel: `PJSIP/1001-${id}`, channelId: id, origin: origin(account, over), known, dialed });
}
function dial(r: Rig, account: string, dialed: string): string {
  const callId = `1795527999.${seq++}`;
  r.enforcer.handle(dialing('office', callId, r.clock.now(), account, dialed));
  return callId;
}
const answer = (r: Rig, callId: string): void => r.enforcer.handle({ kind: 'CallAnswered', pbx: 'office', callId, channel: '', at: r.clock.now() });
const cuts = (r: Rig): EnforcerAction[] => r.actions.filter((a) => a.type === 'cut');

describe('pre-call: the authorizer', () => {
  it('refuses a forbidden call with its reason code, audited as a refusal, nothing admitted', async () => {
    const r = await rig(config(`  "*": { international: false }`));
    const a = ask(r, 'acct-1002', UK);
    assert.deepEqual({ verdict: a.verdict, code: a.code, max: a.maxSeconds }, { verdict: 'deny', code: 'DEST_INTERNATIONAL_DISABLED', max: null });
    assert.match(a.reason, /may not call abroad/);
    const audit = await r.store.auditSince(0);
    assert.deepEqual(audit.map((x) => [x.action, x.code]), [['refuse', 'DEST_INTERNATIONAL_DISABLED']]);
    assert.equal(audit[0]!.detail.account, 'acct-1002');
    assert.equal(r.authorizer.pending.size, 0);
    assert.equal(r.outcomes.filter((o) => o.type === 'refused').length, 1);
  });

  it('allows with the seconds until the first limit: 0.05 left at 0.60/min is 5 s', async () => {
    const r = await rig(config(`  "*": { international: true, spend: { day: 0.05 } }`));
    const a = ask(r, 'acct-1001', UK);
    assert.deepEqual({ verdict: a.verdict, max: a.maxSeconds }, { verdict: 'allow', max: 5 });
    assert.match(a.reason, /spend\.day/);
  });

  it('allows without a limit when there is none', async () => {
    const r = await rig(config(`  "*": { international: true }`));
    assert.deepEqual(ask(r, 'acct-1001', UK).maxSeconds, null);
  });

  it('refuses a call whose budget is already spent (the live path would cut it as it is admitted)', async () => {
    const r = await rig(config(`  "*": { international: true, spend: { day: 0.05 } }`));
    const id = dial(r, 'acct-1001', UK);
    answer(r, id);
    r.clock.advance(5000);
    assert.equal(cuts(r).length, 1, 'the live call spent the budget');
    r.enforcer.handle({ kind: 'CallEnded', pbx: 'office', callId: id, channel: '', at: r.clock.now(), cause: '16' });
    const a = ask(r, 'acct-1001', UK);
    assert.deepEqual({ verdict: a.verdict, code: a.code }, { verdict: 'deny', code: 'SPEND_ACCOUNT' });
  });

  it('lets emergency numbers through whatever the account state, without admitting or limiting them', async () => {
    const r = await rig(config(`  "*": { international: false, maxCallDuration: 10s }`));
    await r.enforcer.suspend('acct-1001', 'test');
    for (const n of ['911', '933']) {
      const a = ask(r, 'acct-1001', n);
      assert.deepEqual({ verdict: a.verdict, code: a.code, max: a.maxSeconds }, { verdict: 'allow', code: 'EMERGENCY_EXEMPT', max: null }, n);
    }
    assert.equal(r.authorizer.pending.size, 0);
    assert.equal((await r.store.auditSince(0)).filter((x) => x.action === 'refuse').length, 0);
  });

  it('in monitor mode allows everything, hands no limit to the PBX and audits what it would refuse', async () => {
    const r = await rig(config(`  "*": { international: false, maxCallDuration: 1m }`, 'monitor'));
    const refused = ask(r, 'acct-1002', UK);
    assert.deepEqual({ verdict: refused.verdict, max: refused.maxSeconds }, { verdict: 'allow', max: null });
    assert.match(refused.reason, /^monitor mode: would refuse/);
    assert.equal(ask(r, 'acct-1002', '2025550123').maxSeconds, null, 'no limit is handed to the PBX in monitor mode');
    assert.deepEqual((await r.store.auditSince(0)).map((x) => x.action), ['would-refuse']);
  });

  it('a burst of authorizations is admitted one after the other: maxConcurrent 2 refuses the third before any dials', async () => {
    const r = await rig(config(`  "*": { international: true, maxConcurrent: 2 }`));
    const verdicts = [ask(r, 'acct-1001', UK), ask(r, 'acct-1001', UK), ask(r, 'acct-1001', UK)].map((a) => a.verdict);
    assert.deepEqual(verdicts, ['allow', 'allow', 'deny']);
    assert.equal(ask(r, 'acct-1002', UK).verdict, 'allow', 'another account is not held back');
  });

  it('an authorization nobody dials stops holding a place after a while', async () => {
    const r = await rig(config(`  "*": { international: true, maxConcurrent: 1 }`));
    assert.equal(ask(r, 'acct-1001', UK).verdict, 'allow');
    assert.equal(ask(r, 'acct-1001', UK).verdict, 'deny');
    r.clock.advance(PENDING_MS + 1);
    assert.equal(ask(r, 'acct-1001', UK).verdict, 'allow');
  });

  it('counts calls per minute from the authorizations, and the live dial that follows is not counted again', async () => {
    const r = await rig(config(`  "*": { international: true, maxCallsPerMinute: 2 }`));
    for (let i = 0; i < 2; i++) {
      assert.equal(ask(r, 'acct-1001', UK).verdict, 'allow');
      dial(r, 'acct-1001', UK);
    }
    assert.equal(cuts(r).length, 0, 'the live path admitted neither dial a second time');
    assert.equal(ask(r, 'acct-1001', UK).verdict, 'deny', 'the third within the minute');
  });

  it('the live path claims the admitted dial (same account and destination, even written another way) and keeps watching it', async () => {
    const r = await rig(config(`  "*": { international: true, maxConcurrent: 1 }`));
    assert.equal(ask(r, 'acct-1001', '+442079460000').verdict, 'allow');
    const id = dial(r, 'acct-1001', UK);
    assert.equal(r.authorizer.pending.size, 0, 'claimed');
    assert.equal(cuts(r).length, 0, 'not refused as a second concurrent call');
    answer(r, id);
    await r.enforcer.suspend('acct-1001', 'compromised');
    assert.deepEqual(cuts(r).map((a) => a.type === 'cut' && a.verdict.code), ['ACCOUNT_SUSPENDED'], 'a suspension still cuts the pre-authorized call');
  });

  it('a pre-authorized call sharing a budget with another call is cut by the live path when the budget runs out', async () => {
    const r = await rig(config(`  "*": { international: true, spend: { day: 0.10 } }`));
    const first = dial(r, 'acct-1001', UK);
    answer(r, first);
    const a = ask(r, 'acct-1001', UK);
    assert.equal(a.maxSeconds, 5, 'two calls at 0.60/min share 0.10: 5 s');
    const second = dial(r, 'acct-1001', UK);
    answer(r, second);
    r.clock.advance(5000);
    assert.deepEqual(cuts(r).map((c) => c.type === 'cut' && c.call.callId).sort(), [first, second].sort());
  });

  it('a dial that was not pre-authorized is admitted by the live path as before', async () => {
    const r = await rig(config(`  "*": { international: true, maxConcurrent: 1 }`));
    dial(r, 'acct-1001', UK);
    dial(r, 'acct-1001', UK);
    assert.deepEqual(cuts(r).map((c) => c.type === 'cut' && c.verdict.code), ['CONCURRENCY']);
  });

  it('suspends an account whose rules say onBreach: suspend, as the live path does', async () => {
    const r = await rig(config(`  "*": { international: false, onBreach: suspend }`));
    assert.equal(ask(r, 'acct-1002', UK).verdict, 'deny');
    await new Promise((res) => setImmediate(res));
    assert.equal(r.enforcer.isSuspended('acct-1002'), true);
    assert.equal(ask(r, 'acct-1002', '2025550123').code, 'ACCOUNT_SUSPENDED');
  });

  it('a request for a channel the PBX never reported is answered, but changes no account: no place held, no suspension', async () => {
    const r = await rig(config(`  "*": { international: false, onBreach: suspend }
  acct-1001: { international: true, maxConcurrent: 1 }`));
    assert.equal(ask(r, 'acct-1002', UK, {}, false).verdict, 'deny');
    await new Promise((res) => setImmediate(res));
    assert.equal(r.enforcer.isSuspended('acct-1002'), false, 'a forged request cannot suspend an account');
    assert.equal((await r.store.auditSince(0)).filter((x) => x.action === 'refuse').length, 1, 'the refusal is still audited');
    assert.equal(ask(r, 'acct-1001', UK, {}, false).verdict, 'allow');
    assert.equal(ask(r, 'acct-1001', UK, {}, false).verdict, 'allow', 'holds no place in maxConcurrent');
    assert.equal(r.authorizer.pending.size, 0);
  });

  it('a transfer never grants more: the transferring account must allow the call too', async () => {
    const r = await rig(config(`  "*": { international: false }
  acct-1001: { international: true }`));
    const a = ask(r, 'acct-1001', UK, { alsoAccounts: ['acct-1003'] });
    assert.equal(a.verdict, 'deny');
    assert.match(a.reason, /transferred by acct-1003/);
  });

  it('the account comes from the origin the adapter resolved: an inbound call under the inbound account', async () => {
    const r = await rig(config(`  "*": { international: false }
  acct-1001: { international: true }`));
    const a = ask(r, 'trunk-uas', UK, { accountFrom: 'inbound', inbound: true, callerId: 'acct-1001' });
    assert.equal(a.verdict, 'deny', 'a caller ID that names an account grants nothing');
    const audit = await r.store.auditSince(0);
    assert.deepEqual([audit[0]!.detail.account, audit[0]!.detail.accountFrom], ['trunk-uas', 'inbound']);
  });

  it('with fraud intelligence: a tripwire number is refused before it leaves and its account suspended, as the live path does', async () => {
    const rig = await IntelRig.start({ lists: { 'irsf-test': { action: 'tripwire', content: '+4420794600\n' } } });
    const rules = buildRules(rig.enforcer.config);
    if (!rules.ok) throw rules.error;
    const authorizer = new Authorizer({
      clock: rig.clock, log: rig.log, journal: new Journal({ store: rig.store, clock: rig.clock, log: rig.log }), rules: () => rules.value,
      state: rig.enforcer.state, suspend: (a, reason, code) => void rig.enforcer.suspend(a, reason, code), intel: rig.intel,
    });
    const a = authorizer.authorize({ pbx: 'office', via: 'agi', channel: 'PJSIP/1001-00000001', channelId: '1.1', origin: origin('acct-1001'), known: true, dialed: '011442079460012' });
    assert.deepEqual([a.verdict, a.code], ['deny', 'TRIPWIRE']);
    await rig.settle();
    assert.equal(rig.enforcer.isSuspended('acct-1001'), true);
  });
});
