import path from 'node:path';
import { AmiConnection, type AmiMsg } from '../harness/ami.js';
import { LabSession } from '../harness/lab-session.js';
import { amiTimeline, countNames, FIXTURES, sleep, writeNotes } from './common.js';

/**
 * Records the Asterisk shapes of issue 11 from the real PBX, as the daemon sees them: an AMI
 * connection logged in as the lab's `tollguard` user (read=call,security). A second AMI
 * connection (`admin`, not recorded) drives: Redirect, Originate, Hangup, globals.
 *   node --import tsx test/realpbx/record/asterisk.ts SHAPE...
 */

const P1001 = { user: '1001', password: 's3cret1001' };
const P1002 = { user: '1002', password: 's3cret1002' };
const TG = { user: 'tollguard', secret: 'tg-ami-secret-0123456789' };

interface Ctx {
  s: LabSession;
  drv: AmiConnection;
  rec: AmiConnection;
  /** Extra recorded connections: file prefix -> connection. */
  extra: Map<string, AmiConnection>;
  notes: string[];
}

const newChannel = (c: AmiConnection, prefix: string, ms = 20_000): Promise<AmiMsg> =>
  c.next((m) => m.fields.Event === 'Newchannel' && (m.fields.Channel ?? '').startsWith(prefix), ms, `a channel ${prefix}`);
const up = (c: AmiConnection, channel: string, ms = 20_000): Promise<AmiMsg> =>
  c.next((m) => m.fields.Event === 'Newstate' && m.fields.Channel === channel && m.fields.ChannelState === '6', ms, `${channel} Up`);
const hangup = (c: AmiConnection, channel: string): Promise<AmiMsg> => c.action({ Action: 'Hangup', Channel: channel });

async function idle(c: AmiConnection, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const l = await c.list({ Action: 'CoreShowChannels' });
    if (!l.some((m) => m.fields.Event === 'CoreShowChannel')) return;
    await sleep(250);
  }
  throw new Error('channels still up');
}

async function phone1002(s: LabSession): Promise<void> {
  const port = s.sipp.port();
  await s.sipp.register(P1002, port);
  await s.sipp.answeringPhone('1002', port);
}

/** The trunk leg answers, talks `talkMs`, and the driver hangs it up; then all is idle. */
async function trunkTalksThenHangup(x: Ctx, talkMs = 2000): Promise<void> {
  const trunk = await newChannel(x.drv, 'PJSIP/trunk-uas-');
  await up(x.drv, trunk.fields.Channel!);
  await sleep(talkMs);
  await hangup(x.drv, trunk.fields.Channel!);
  x.notes.push(`driver: Hangup ${trunk.fields.Channel} ${talkMs} ms after it was Up`);
  await idle(x.drv);
}

const shapes: Record<string, { folder: string; run: (x: Ctx) => Promise<void>; admin?: boolean }> = {
  'blind-transfer-refer': {
    folder: 'blind-transfer-refer',
    admin: true,
    async run(x) {
      await phone1002(x.s);
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      x.s.sipp.call(P1001, '1002', { scenario: 'uac-refer.xml', target: '0115378612345' });
      await trunkTalksThenHangup(x);
    },
  },
  redirect: {
    folder: 'redirect-bleg',
    async run(x) {
      await phone1002(x.s);
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      x.s.sipp.call(P1001, '1002');
      const b = await newChannel(x.drv, 'PJSIP/1002-');
      await up(x.drv, b.fields.Channel!);
      await sleep(1000);
      const r = await x.drv.action({ Action: 'Redirect', Channel: b.fields.Channel!, Context: 'from-internal', Exten: '0115378612345', Priority: '1' });
      x.notes.push(`driver: Redirect Channel=${b.fields.Channel} Context=from-internal Exten=0115378612345 Priority=1 -> ${r.fields.Response} ${r.fields.Message}`);
      await trunkTalksThenHangup(x);
    },
  },
  'originate-trunk': {
    folder: 'originate-trunk',
    async run(x) {
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      const r = await x.drv.action({ Action: 'Originate', Channel: 'PJSIP/0115378612345@trunk-uas', Application: 'Wait', Data: '2', Async: 'true' });
      x.notes.push(`driver: Originate Channel=PJSIP/0115378612345@trunk-uas Application=Wait Data=2 Async=true -> ${r.fields.Response} ${r.fields.Message}`);
      await idle(x.drv);
    },
  },
  'originate-local': {
    folder: 'originate-local-account',
    async run(x) {
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      const r = await x.drv.action({ Action: 'Originate', Channel: 'Local/011442079460000@from-internal', Application: 'Wait', Data: '2', Account: 'acct-1001', Async: 'true' });
      x.notes.push(`driver: Originate Channel=Local/011442079460000@from-internal Application=Wait Data=2 Account=acct-1001 Async=true -> ${r.fields.Response} ${r.fields.Message}`);
      await idle(x.drv);
    },
  },
  'tech-prefix': {
    folder: 'tech-prefix',
    async run(x) {
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.call(P1001, '7011442079460000', { scenario: 'uac-call.xml', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  'inbound-forward': {
    folder: 'inbound-forward',
    async run(x) {
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.inbound('2125550100', { to: '127.0.0.1:5060', address: '127.0.0.9', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  'inbound-forward-local': {
    folder: 'inbound-forward-local',
    async run(x) {
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.inbound('2125550102', { to: '127.0.0.1:5060', address: '127.0.0.9', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  'route-local': {
    folder: 'route-local',
    async run(x) {
      x.notes.push(`cli: dialplan set global ROUTE local -> ${(await x.s.pbx.cli('dialplan set global ROUTE local')).trim()}`);
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.call(P1001, '011442079460000', { scenario: 'uac-call.xml', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  'acct-override': {
    folder: 'acct-override',
    async run(x) {
      x.notes.push(`cli: dialplan set global ACCT_OVERRIDE acct-1002 -> ${(await x.s.pbx.cli('dialplan set global ACCT_OVERRIDE acct-1002')).trim()}`);
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.call(P1001, '011442079460000', { scenario: 'uac-call.xml', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  'attended-transfer': {
    folder: 'attended-transfer-refer',
    admin: true,
    async run(x) {
      await phone1002(x.s);
      await x.s.sipp.carrier(5070, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.attendedTransfer(P1001, '1002', '0115378612345');
      await x.drv.next((m) => m.fields.Event === 'AttendedTransfer', 30_000, 'the AttendedTransfer');
      await sleep(2000);
      const trunk = await newChannel(x.drv, 'PJSIP/trunk-uas-');
      await hangup(x.drv, trunk.fields.Channel!);
      x.notes.push(`driver: Hangup ${trunk.fields.Channel} 2 s after the AttendedTransfer event`);
      await idle(x.drv);
    },
  },
  'endpoints-db': {
    folder: 'endpoints-dbtree',
    async run(x) {
      const put = async (key: string, val: string): Promise<void> => {
        const r = await x.rec.action({ Action: 'DBPut', Family: 'tollguard', Key: key, Val: val });
        x.notes.push(`DBPut tollguard ${key} ${val} -> ${r.fields.Response} ${r.fields.Message}`);
      };
      await put('suspended/acct-1002', 'TG_SPEND_DAY');
      await put('blocked/53', 'deny');
      const actions: Record<string, string>[] = [
        { Action: 'PJSIPShowEndpoints' },
        { Action: 'PJSIPShowEndpoint', Endpoint: 'trunk-uas' },
        { Action: 'PJSIPShowAors' },
        { Action: 'DBGetTree', Family: 'tollguard' },
        { Action: 'DBGetTree', Family: 'tollguard', Key: 'suspended' },
        { Action: 'DBGetTree', Family: 'nosuchfamily' },
      ];
      for (const a of actions) {
        const l = await x.rec.list(a);
        x.notes.push(`${JSON.stringify(a)} -> ${countNames(l.map((m) => m.fields.Event ?? `Response: ${m.fields.Response} (${m.fields.Message})`))}`);
      }
      const del = await x.rec.action({ Action: 'DBDelTree', Family: 'tollguard' });
      x.notes.push(`DBDelTree tollguard -> ${del.fields.Response} ${del.fields.Message}`);
    },
  },
};

async function record(name: string): Promise<void> {
  const shape = shapes[name];
  if (!shape) throw new Error(`unknown shape ${name}; known: ${Object.keys(shapes).join(' ')}`);
  const s = await LabSession.open('asterisk');
  try {
    const drv = await AmiConnection.open(s.ns, 'admin', 'admin-ami-secret', 'drv');
    s.onClose(() => drv.link.kill());
    const extra = new Map<string, AmiConnection>();
    if (shape.admin) {
      const a = await AmiConnection.open(s.ns, 'admin', 'admin-ami-secret', 'adm');
      s.onClose(() => a.link.kill());
      extra.set('admin.', a);
    }
    const rec = await AmiConnection.open(s.ns, TG.user, TG.secret, 'tg');
    s.onClose(() => rec.link.kill());
    const x: Ctx = { s, drv, rec, extra, notes: [] };
    await shape.run(x);
    await sleep(500);
    const dir = path.join(FIXTURES, 'asterisk', shape.folder);
    for (const [prefix, c] of [['', rec], ...extra] as [string, AmiConnection][]) {
      await c.logoff();
      for (let i = 0; i < 50 && !c.link.closed(); i++) await sleep(100);
      c.link.save(dir, prefix, 'close');
      const events = c.events().map((m) => m.fields.Event!);
      x.notes.push(`\n== ${prefix || 'tollguard.'} events: ${events.length}: ${countNames(events)}\n`, amiTimeline(c.link, c.messages));
    }
    x.notes.push(`\nsipp:\n${s.sipp.commands().join('\n')}`);
    writeNotes(dir, x.notes.join('\n'));
    console.log(`${name}: recorded into ${dir}`);
  } finally {
    await s.close();
  }
}

for (const name of process.argv.slice(2)) await record(name);
