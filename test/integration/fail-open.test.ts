import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SteadyClock } from '../../lib/clock.js';
import { controlRequest } from '../../lib/control/client.js';
import { amiDriver, eslDriver, type PbxDriver } from '../helpers/daemon-harness.js';
import { DaemonRig, type RigOptions } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { chattr, chattrMissing } from '../helpers/immutable-files.js';
import { redisServerBinary, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { amiDialFromUnseen, eslLegFromUnseen } from '../helpers/unseen-dials.js';
import { emergencyPasses, logged, refused, type ExpectedLine } from '../helpers/verdicts.js';
import { waitFor } from '../helpers/wait.js';
import { webhookServer, type Hook } from '../helpers/webhook-server.js';

/**
 * Issue 12.7 and invariant 2: the fail-open corpus. One row per thing tollguard cannot know;
 * each row sets it up against the real daemon (embedded AMI and ESL servers over TCP, a real
 * SQLite file or redis-server), places the calls it concerns, and checks the most
 * restrictive outcome, the exact line logged (message and code), what status, /healthz and
 * the alerts (a real webhook) say, and that an emergency call still goes through.
 *
 * The rows are the table of docs/errors.md ("When tollguard does not know"); a row added
 * there gets its row here.
 */

interface Alerted { kind: string; severity: string; key: string; title: string; text: string; detail: Record<string, unknown> }

/** What a row gets: the daemon, its PBXs as drivers, the alerts it sent. */
interface Ctx {
  rig: DaemonRig;
  ami: PbxDriver;
  esl: PbxDriver;
  hook: Hook;
}

interface Row {
  unknown: string;
  outcome: string;
  line: ExpectedLine;
  rig?: RigOptions;
  /** Something the row needs from the machine, or null: the reason it is skipped. */
  missing?: () => string | null;
  /** What the row starts besides the daemon (a redis-server, a clock), and how to undo it. */
  setup?: () => Promise<{ rig: RigOptions; cleanup: () => Promise<void> }>;
  run(c: Ctx): Promise<void>;
}

const alerts = (hook: Hook): Alerted[] => hook.bodies as unknown as Alerted[];
const alerted = (hook: Hook, kind: string, key: string): Promise<Alerted> =>
  waitFor(`alert ${kind} ${key}`, () => alerts(hook).find((a) => a.kind === kind && a.key === key), 10_000);

interface Health { ok: boolean; detail: { status: string; down: string[]; degraded: string[]; problems: { code: string; text: string }[] } }
const health = (rig: DaemonRig): Health => rig.daemon.health() as Health;
const control = (rig: DaemonRig, cmd: string, args: Record<string, unknown>) => controlRequest(path.join(rig.dir, 'control.sock'), cmd, args, 5000);

const EMERGENCY = { account: 'acct-1002', user: '1002', dialed: '911' };

/** The wall clock the clock row steps (the monotonic one cannot be stepped). */
const wall = { offsetMs: 0 };
let metricsPort = 0;
let redis: RedisServer | null = null;
const HOUR = 3_600_000;

/** The store went away under the daemon: cuts go on from memory, and everything says so. */
async function storeDown(c: Ctx, breakIt: () => Promise<void>, mendIt: () => Promise<void>): Promise<void> {
  const { rig, ami, esl, hook } = c;
  await breakIt();
  for (const drv of [ami, esl]) {
    await refused(rig, drv, { account: 'acct-1002', user: '1002', dialed: '0115378612345' }, 'DEST_DENIED');
    await emergencyPasses(rig, drv, EMERGENCY);
  }
  await logged(rig.log, STORE_DOWN);
  const h = health(rig);
  assert.equal(h.ok, true, 'calls are still watched: degraded, not down');
  assert.equal(h.detail.status, 'degraded');
  assert.ok(h.detail.problems.some((p) => p.code === 'TG_ERR_STORE'), JSON.stringify(h.detail));
  assert.ok(rig.daemon.status().problems.some((p) => p.code === 'TG_ERR_STORE'));
  const a = await alerted(hook, 'store', 'store');
  assert.equal(a.severity, 'critical');
  const mended = rig.log.lines.length;
  await mendIt();
  await logged(rig.log, { level: 'info', message: 'store available again', code: 'TG_ERR_STORE' }, 20_000, mended);
  assert.equal(health(rig).detail.status, 'ok');
  assert.deepEqual(rig.daemon.status().problems, []);
  await alerted(hook, 'store', 'store-back');
}

const STORE_DOWN: ExpectedLine = { level: 'error', message: 'store unavailable: enforcement goes on from memory, nothing is saved', code: 'TG_ERR_STORE' };

const ROWS: Row[] = [
  {
    unknown: 'a number it cannot read',
    outcome: 'digits valid in no reading refused (DEST_INVALID), E.164 digits without + judged by where they lead; 911 and 933 pass',
    line: { level: 'warn', message: 'cutting call', code: 'DEST_INVALID' },
    async run({ rig, ami, esl, hook }) {
      for (const drv of [ami, esl]) {
        await refused(rig, drv, { account: 'acct-1002', user: '1002', dialed: '5551234' }, 'DEST_INVALID');
        await refused(rig, drv, { account: 'acct-1002', user: '1002', dialed: '88213456790' }, 'DEST_DENIED');
        await emergencyPasses(rig, drv, EMERGENCY);
        await emergencyPasses(rig, drv, { ...EMERGENCY, dialed: '933' });
      }
      await alerted(hook, 'cut', 'cut:acct-1002:DEST_INVALID');
    },
  },
  {
    unknown: 'a trunk name the PBX does not have',
    outcome: "the real trunk's Cuba call still cut, /healthz degraded (200), status and an alert name it; 911 passes",
    line: { level: 'warn', message: /^office: configured trunk my-carrier not found among the PBX's PJSIP endpoints/, code: 'TG_ERR_UNKNOWN_TRUNK' },
    rig: { amiTrunks: '[my-carrier]', eslTrunks: '[my-gateway]' },
    async run({ rig, ami, esl, hook }) {
      for (const drv of [ami, esl]) {
        await refused(rig, drv, { account: 'acct-1002', user: '1002', dialed: '0115378612345' }, 'DEST_DENIED');
        await emergencyPasses(rig, drv, EMERGENCY);
      }
      const h = health(rig);
      assert.equal(h.ok, true);
      assert.deepEqual([h.detail.status, [...h.detail.degraded].sort()], ['degraded', ['branch', 'office']]);
      assert.ok(rig.daemon.status().links.every((l) => l.warnings.some((w) => / not found /.test(w))));
      await alerted(hook, 'link-setup', 'link-setup:office');
      await alerted(hook, 'link-setup', 'link-setup:branch');
    },
  },
  {
    unknown: 'a dial to something neither a known phone nor a configured trunk',
    outcome: 'judged as leaving the PBX: the Cuba call cut on both PBXs; 911 through it passes',
    line: { level: 'warn', message: 'dial to a channel that is neither a known phone nor a configured trunk: judged as leaving the PBX', code: 'TG_ERR_UNKNOWN_TRUNK' },
    async run({ rig }) {
      const a = rig.ami!.call({ endpoint: '1002', account: 'acct-1002', dialed: '0115378612345', trunk: 'carrier-x', answerAfterMs: null });
      const b = rig.esl!.call({ user: '1002', account: 'acct-1002', dialed: '0115378612345', gateway: 'uas2', answerAfterMs: null });
      const c = rig.esl!.call({ user: '1002', account: 'acct-1002', dialed: '0115378612345', gateway: null, answerAfterMs: null });
      await rig.waitFor(() => a.endedBy === 'action' && b.endedAt !== null && c.endedAt !== null, 10_000, 'the three calls cut');
      assert.deepEqual(rig.cuts().map((x) => [x.call.pbx, x.call.trunk, x.verdict.code]).sort(), [
        ['branch', 'sofia/internal', 'DEST_DENIED'], ['branch', 'uas2', 'DEST_DENIED'], ['office', 'carrier-x', 'DEST_DENIED'],
      ]);
      await logged(rig.log, { level: 'warn', message: 'FreeSWITCH call leaves by a gateway that is not in trunks: judged as external', code: 'TG_ERR_UNKNOWN_TRUNK' });
      await logged(rig.log, { level: 'warn', message: 'FreeSWITCH leg to neither a gateway nor a known directory user: judged as leaving the switch', code: 'TG_ERR_UNKNOWN_TRUNK' });
      const sos = rig.ami!.call({ endpoint: '1002', account: 'acct-1002', dialed: '911', trunk: 'carrier-x', answerAfterMs: 50 });
      await rig.waitFor(() => sos.answeredAt !== null && rig.log.find('emergency call: exempt from every rule').some((l) => l.meta.callId === sos.peerCallId), 10_000, '911 exempt');
      sos.hangup();
      await sos.ended;
      assert.equal(sos.endedBy, 'caller');
    },
  },
  {
    unknown: 'an account it has not seen',
    outcome: 'judged under accounts["*"] (international off: cut), said once; 911 passes; a command naming an unknown account refused',
    line: { level: 'warn', message: 'account not in the config: judged under accounts["*"]', code: 'TG_ERR_UNKNOWN_ACCOUNT' },
    async run({ rig, ami, esl }) {
      for (const drv of [ami, esl]) {
        await refused(rig, drv, { account: 'acct-7777', user: '1003', dialed: '011442079460000' }, 'DEST_INTERNATIONAL_DISABLED');
        await emergencyPasses(rig, drv, { account: 'acct-7777', user: '1003', dialed: '911' });
      }
      assert.equal(rig.log.find('account not in the config: judged under accounts["*"]').length, 1, 'said once');
      const r = await control(rig, 'resume', { account: 'acct-7778' });
      assert.ok(!r.ok && r.error.code === 'TG_ERR_UNKNOWN_ACCOUNT', JSON.stringify(r));
      await logged(rig.log, { level: 'warn', message: 'control command failed', code: 'TG_ERR_UNKNOWN_ACCOUNT' });
    },
  },
  {
    unknown: "the PBX's flag store (AstDB) unreachable",
    outcome: 'the daemon itself still refuses the suspended account (911 passes); status, /healthz (degraded) and an alert say the hooks may be stale',
    line: { level: 'warn', message: 'cannot write dialplan flag; reconciling the family', code: 'TG_ERR_PBX_TIMEOUT' },
    async run({ rig, ami, esl, hook }) {
      await rig.waitFor(() => rig.log.find('dialplan flags reconciled').length >= 2, 5000, 'first reconcile on both PBXs');
      for (const action of ['DBPut', 'DBDel', 'DBGetTree']) rig.ami!.silentActions.add(action);
      const r = await control(rig, 'suspend', { account: 'acct-1003', reason: 'fail-open corpus', force: true });
      assert.ok(r.ok, JSON.stringify(r));
      await logged(rig.log, { level: 'warn', message: 'dialplan flags reconciled with failures', code: 'TG_ERR_PBX_TIMEOUT' }, 20_000);
      for (const drv of [ami, esl]) {
        await refused(rig, drv, { account: 'acct-1003', user: '1003', dialed: '2125550100' }, 'ACCOUNT_SUSPENDED');
        await emergencyPasses(rig, drv, { account: 'acct-1003', user: '1003', dialed: '911' });
      }
      const h = health(rig);
      assert.equal(h.ok, true, JSON.stringify(h.detail));
      assert.deepEqual([h.detail.status, h.detail.degraded], ['degraded', ['office']]);
      assert.ok(rig.daemon.status().links.find((l) => l.pbx === 'office')!.warnings.some((w) => /dialplan flag writes failed/.test(w)));
      await alerted(hook, 'link-setup', 'flags:office');
    },
  },
  {
    unknown: 'a PBX link down past linkDownAfter',
    outcome: '/healthz 503 naming both PBXs, an alert each; calls placed meanwhile judged at the resync (Cuba cut, 911 not)',
    line: { level: 'warn', message: 'pbx link down', code: 'TG_ERR_PBX_CLOSED' },
    async setup() {
      metricsPort = await freePort();
      return { rig: { extra: `metrics: { listen: "127.0.0.1:${metricsPort}", linkDownAfter: 1s }` }, cleanup: async () => undefined };
    },
    async run({ rig, ami, esl, hook }) {
      const probe = async (): Promise<{ status: number; body: Health }> => {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
        return { status: res.status, body: (await res.json()) as Health };
      };
      assert.equal((await probe()).status, 200);
      rig.ami!.freeze();
      rig.ami!.dropAllConnections();
      rig.esl!.shutdown();
      const down = await waitFor('/healthz 503 for both PBXs', async () => {
        const r = await probe();
        return r.status === 503 && r.body.detail.down.length === 2 ? r : null;
      }, 20_000, 50);
      assert.deepEqual([...down.body.detail.down].sort(), ['branch', 'office']);
      for (const pbx of ['office', 'branch']) assert.equal((await alerted(hook, 'link-down', `link:${pbx}`)).severity, 'critical');
      assert.ok(rig.daemon.status().links.every((l) => l.status !== 'ready' && l.downSince !== null && l.lastError !== null));

      const cuba = [ami, esl].map((drv) => drv.place({ account: 'acct-1002', user: '1002', dialed: '0115378612345', answerAfterMs: null }));
      const sos = [ami, esl].map((drv) => drv.place({ ...EMERGENCY, answerAfterMs: 50 }));
      rig.ami!.unfreeze();
      rig.esl!.restart();
      await rig.waitFor(() => cuba.every((c) => c.cutByUs()), 20_000, 'the Cuba calls cut at the resync');
      assert.deepEqual(rig.cuts().map((x) => x.verdict.code), ['DEST_DENIED', 'DEST_DENIED']);
      const exempt = (id: string): boolean => rig.log.find('emergency call: exempt from every rule').some((l) => l.meta.callId === id);
      await rig.waitFor(() => sos.every((c) => c.answered() && exempt(c.id)), 10_000, 'the 911 calls exempt at the resync');
      for (const c of sos) c.hangup();
      await rig.waitFor(() => sos.every((c) => c.ended()), 5000, '911 calls hung up by their callers');
      assert.ok(sos.every((c) => !c.cutByUs()));
      await waitFor('/healthz 200 again', async () => (await probe()).status === 200, 20_000, 50);
    },
  },
  {
    unknown: 'a destination with no rate',
    outcome: 'refused as DEST_UNRATED (rates.unrated: deny, the default); 911 is never rated and passes',
    line: { level: 'warn', message: 'cutting call', code: 'DEST_UNRATED' },
    rig: { accounts: '  acct-1005: { international: true }' },
    async run({ rig, ami, esl }) {
      for (const drv of [ami, esl]) {
        await refused(rig, drv, { account: 'acct-1005', user: '1003', dialed: '01133142685300' }, 'DEST_UNRATED');
        await emergencyPasses(rig, drv, { account: 'acct-1005', user: '1003', dialed: '911' });
      }
    },
  },
  {
    unknown: 'budgets with no rate deck to count them',
    outcome: 'said at start (and by check-config): spend limits cannot be counted; the destination rules still cut',
    line: { level: 'warn', message: 'config warning', code: 'TG_ERR_CONFIG' },
    rig: {
      accounts: '  acct-7: { international: true, allow: [GB], spend: { day: 5 } }',
      async beforeStart(dir) {
        const file = path.join(dir, 'tollguard.yaml');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^rates: .*$/m, 'rates: { file: null }'));
      },
    },
    async run({ rig, ami, esl }) {
      const said = await logged(rig.log, { level: 'warn', message: 'config warning', code: 'TG_ERR_CONFIG' });
      assert.match(String(said.meta.warning), /accounts\.acct-7\.spend is set but rates\.file is not/);
      for (const drv of [ami, esl]) {
        await refused(rig, drv, { account: 'acct-1002', user: '1002', dialed: '0115378612345' }, 'DEST_DENIED');
        await emergencyPasses(rig, drv, EMERGENCY);
      }
    },
  },
  {
    unknown: 'the time (the system clock stepped)',
    outcome: 'back: the budget cut comes when the money runs out and the spend is kept; forward: the spent budget and a ban stay; said',
    line: { level: 'warn', message: /^system clock stepped (back|forward)/, code: 'TG_ERR_CLOCK_STEP' },
    async setup() {
      wall.offsetMs = 0;
      const clock = new SteadyClock({ wall: () => Date.now() + wall.offsetMs, monotonic: () => performance.now() });
      return { rig: { clock, accounts: '  acct-7: { international: true, allow: [GB], spend: { day: 0.05 } }' }, cleanup: async () => undefined };
    },
    async run({ rig, ami, esl, hook }) {
      const day = (account: string): number => rig.daemon.status().accounts.find((a) => a.account === account)?.spend.day?.spent ?? 0;
      // 0.60/min against 0.05 left: about 5 s of talk, then the cut. The wall goes back an hour meanwhile.
      const talk = ami.place({ account: 'acct-7', user: '1003', dialed: '011442079460001', answerAfterMs: 50 });
      await rig.waitFor(() => talk.answered(), 5000, 'answered');
      wall.offsetMs -= HOUR;
      await rig.waitFor(() => talk.cutByUs(), 30_000, 'the budget cut, not an hour late');
      assert.equal(rig.cuts().find((x) => x.call.callId === talk.id)?.verdict.code, 'SPEND_ACCOUNT');
      await rig.waitFor(() => day('acct-7') >= 0.05, 5000, 'the spend kept');
      await refused(rig, esl, { account: 'acct-7', user: '1003', dialed: '011442079460002' }, 'SPEND_ACCOUNT');
      await logged(rig.log, { level: 'warn', message: /^system clock stepped back/, code: 'TG_ERR_CLOCK_STEP' });

      const ban = await control(rig, 'ban', { address: '203.0.113.9', forMs: HOUR, reason: 'fail-open corpus' });
      assert.ok(ban.ok, JSON.stringify(ban));
      wall.offsetMs += 25 * HOUR;
      await refused(rig, ami, { account: 'acct-7', user: '1003', dialed: '011442079460003' }, 'SPEND_ACCOUNT');
      // Five failures ban another source: the guard has looked at its expiries by then.
      for (let i = 0; i < 5; i++) rig.ami!.authFailure({ address: '198.51.100.7', username: `u${i}`, kind: 'wrong-password' });
      await rig.waitFor(() => rig.daemon.bans().some((b) => b.address === '198.51.100.7'), 10_000, 'the second ban');
      assert.ok(rig.daemon.bans().some((b) => b.address === '203.0.113.9'), 'the hour ban outlived the step forward');
      await logged(rig.log, { level: 'warn', message: /^system clock stepped forward/, code: 'TG_ERR_CLOCK_STEP' });
      for (const drv of [ami, esl]) await emergencyPasses(rig, drv, { account: 'acct-7', user: '1003', dialed: '911' });

      const h = health(rig);
      assert.equal(h.ok, true);
      assert.equal(h.detail.status, 'degraded');
      assert.ok(h.detail.problems.some((p) => p.code === 'TG_ERR_CLOCK_STEP'), JSON.stringify(h.detail));
      assert.ok(rig.daemon.status().problems.some((p) => p.code === 'TG_ERR_CLOCK_STEP'));
      await alerted(hook, 'clock', 'clock');
    },
  },
  {
    unknown: 'who placed a dial (a caller channel never seen)',
    outcome: "read from the dial itself: a suspended account's call refused on both PBXs; 911 from it passes",
    line: { level: 'warn', message: 'dial by a channel tollguard never saw: its origin is read from the dial alone', code: 'TG_ERR_ORIGIN_LOST' },
    async run({ rig }) {
      const r = await control(rig, 'suspend', { account: 'acct-1003', reason: 'fail-open corpus', force: true });
      assert.ok(r.ok, JSON.stringify(r));
      const national = amiDialFromUnseen(1, 'acct-1003', '2125550100');
      rig.ami!.emitEvent(national.pairs);
      const fsNational = eslLegFromUnseen('acct-1003', '2125550100');
      rig.esl!.inject(fsNational.frame);
      const cutOf = (leg: string) => rig.cuts().find((x) => x.call.callId === leg);
      await rig.waitFor(() => cutOf(national.leg) !== undefined && cutOf(fsNational.leg) !== undefined, 10_000, 'both legs refused');
      assert.deepEqual([cutOf(national.leg)!.call.account, cutOf(national.leg)!.verdict.code], ['acct-1003', 'ACCOUNT_SUSPENDED']);
      assert.deepEqual([cutOf(fsNational.leg)!.call.account, cutOf(fsNational.leg)!.verdict.code], ['acct-1003', 'ACCOUNT_SUSPENDED']);
      await rig.waitFor(() => rig.ami!.actionsNamed('Hangup').some((h) => h.get('Channel') === 'PJSIP/trunk-uas-0000f1b'), 5000, 'Hangup sent');
      await logged(rig.log, { level: 'warn', message: 'FreeSWITCH leg placed by a channel tollguard never saw: judged under its own accountcode, else the originate account', code: 'TG_ERR_ORIGIN_LOST' });

      const sos = amiDialFromUnseen(2, 'acct-1003', '911');
      rig.ami!.emitEvent(sos.pairs);
      const fsSos = eslLegFromUnseen('acct-1003', '911');
      rig.esl!.inject(fsSos.frame);
      const exempt = (id: string): boolean => rig.log.find('emergency call: exempt from every rule').some((l) => l.meta.callId === id);
      await rig.waitFor(() => exempt(sos.leg) && exempt(fsSos.leg), 10_000, '911 from the unseen channels exempt');
      assert.equal(cutOf(sos.leg), undefined);
      assert.equal(cutOf(fsSos.leg), undefined);
    },
  },
  {
    unknown: 'the store (redis-server stopped)',
    outcome: 'cuts go on from memory (911 passes); status, /healthz (degraded) and an alert say so until Redis is back',
    line: STORE_DOWN,
    missing: () => (redisServerBinary() ? null : 'redis-server is not installed (apt-get install redis-server)'),
    async setup() {
      redis = await startRedisServer();
      const server = redis;
      return {
        rig: { extra: `store: { type: redis, url: "${server.url}", prefix: "fail-open:" }` },
        cleanup: async () => {
          await server.stop();
          server.cleanup();
        },
      };
    },
    run: (c) => storeDown(c, () => redis!.stop(), () => redis!.restart()),
  },
  {
    unknown: 'the store (SQLite file made unwritable)',
    outcome: 'cuts go on from memory (911 passes); status, /healthz (degraded) and an alert say so until it is writable',
    line: STORE_DOWN,
    missing: chattrMissing,
    async run(c) {
      const files = ['tollguard.db', 'tollguard.db-wal'].map((f) => path.join(c.rig.dir, 'state', f));
      try {
        await storeDown(c, async () => assert.ok(chattr('+i', files)), async () => assert.ok(chattr('-i', files)));
      } finally {
        chattr('-i', files);
      }
    },
  },
];

describe('fail-open corpus: every unknown gets the most restrictive reading, and is said', function () {
  this.timeout(60_000);
  for (const row of ROWS) {
    it(`${row.unknown}: ${row.outcome}`, async function () {
      const why = row.missing?.() ?? null;
      if (why) {
        console.warn(`      skipped: ${why}`);
        this.skip();
      }
      const hook = await webhookServer();
      const own = await row.setup?.();
      const o = { ...row.rig, ...own?.rig };
      let rig: DaemonRig | null = null;
      try {
        rig = await DaemonRig.start({ freeswitch: true, ...o, extra: `alerts: { dailySummary: null, webhook: { url: "${hook.url}" } }\n${o.extra ?? ''}` });
        await row.run({ rig, ami: amiDriver(rig.ami!), esl: eslDriver(rig.esl!), hook });
        await logged(rig.log, row.line);
      } finally {
        await rig?.stop();
        await own?.cleanup();
        await hook.close();
      }
    });
  }
});
