import path from 'node:path';
import { EslConnection, type EslEvt } from '../harness/esl.js';
import { LabSession } from '../harness/lab-session.js';
import type { RawLink } from '../harness/link.js';
import { countNames, FIXTURES, sleep, writeNotes } from './common.js';

/**
 * Records the FreeSWITCH shapes of issue 11 from the real PBX, as the daemon sees them: an ESL
 * connection with `event json ALL` (and a `plain` twin for the REFER). A second ESL connection
 * (not recorded) drives: originate, uuid_transfer, uuid_kill, show channels.
 *   node --import tsx test/realpbx/record/freeswitch.ts SHAPE...
 */

const PW = 'EslFixturePw';
const P1001 = { user: '1001', password: 'secret1001' };
const P1002 = { user: '1002', password: 'secret1002' };

interface Ctx {
  s: LabSession;
  drv: EslConnection;
  rec: EslConnection;
  notes: string[];
}

const created = (c: EslConnection, test: (e: EslEvt) => boolean, what: string): Promise<EslEvt> =>
  c.next((e) => e.name === 'CHANNEL_CREATE' && test(e), 20_000, what);
const answered = (c: EslConnection, uuid: string): Promise<EslEvt> =>
  c.next((e) => e.name === 'CHANNEL_ANSWER' && e.h['Unique-ID'] === uuid, 20_000, `answer of ${uuid}`);
const toDest = (dest: string) => (e: EslEvt): boolean => e.h['Call-Direction'] === 'outbound' && e.h['Caller-Destination-Number'] === dest;

async function idle(c: EslConnection, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await c.api('show channels count')).trim().startsWith('0 total')) return;
    await sleep(250);
  }
  throw new Error('channels still up');
}

async function kill(x: Ctx, uuid: string, what: string): Promise<void> {
  const r = await x.drv.api(`uuid_kill ${uuid}`);
  x.notes.push(`driver: api uuid_kill ${uuid} (${what}) -> ${r.trim()}`);
}

/** The leg to `dest` answers, talks `talkMs`, the driver kills it; then all is idle. */
async function legTalksThenKill(x: Ctx, dest: string, talkMs = 2000): Promise<void> {
  const leg = await created(x.drv, toDest(dest), `a leg to ${dest}`);
  await answered(x.drv, leg.h['Unique-ID']!);
  await sleep(talkMs);
  await kill(x, leg.h['Unique-ID']!, `the leg to ${dest}, ${talkMs} ms after its answer`);
  await idle(x.drv);
}

async function bg(x: Ctx, cmd: string): Promise<void> {
  const r = await x.drv.command(`bgapi ${cmd}`);
  x.notes.push(`driver: bgapi ${cmd} -> ${r.headers['Reply-Text']}`);
}

const shapes: Record<string, { folder: string; run: (x: Ctx) => Promise<void>; plainTwin?: boolean }> = {
  refer: {
    folder: 'blind-transfer-refer',
    plainTwin: true,
    async run(x) {
      await x.s.sipp.carrier(5090, { ringMs: 1000, calls: 2 });
      await sleep(300);
      x.s.sipp.call(P1001, '2025550123', { scenario: 'uac-refer.xml', target: '011442079460000' });
      await legTalksThenKill(x, '011442079460000');
    },
  },
  'did-forward': {
    folder: 'did-forward-from-acct',
    async run(x) {
      await x.s.sipp.carrier(5090, { ringMs: 1000 });
      await sleep(300);
      x.s.sipp.inbound('15551230000', { to: '127.0.0.1:5082', talkMs: 2000, fromUser: 'acct-1001' });
      await legTalksThenKill(x, '011442079460000', 1000);
    },
  },
  'loopback-8': {
    folder: 'loopback-no-export',
    async run(x) {
      await x.s.sipp.carrier(5090, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.call(P1002, '8011442079460000', { scenario: 'uac-call.xml', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  'loopback-9': {
    folder: 'loopback-export',
    async run(x) {
      await x.s.sipp.carrier(5090, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.call(P1002, '9011442079460000', { scenario: 'uac-call.xml', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  'dialplan-account': {
    folder: 'dialplan-accountcode',
    async run(x) {
      await x.s.sipp.carrier(5090, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.call(P1001, '7011442079460000', { scenario: 'uac-call.xml', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  'originate-gateway': {
    folder: 'originate-gateway-park',
    async run(x) {
      await x.s.sipp.carrier(5090, { ringMs: 1000 });
      await sleep(300);
      await bg(x, 'originate {accountcode=acct-1001}sofia/gateway/uas/011442079460000 &park()');
      await legTalksThenKill(x, '011442079460000');
    },
  },
  'originate-user': {
    folder: 'originate-user',
    async run(x) {
      const port = x.s.sipp.port();
      await x.s.sipp.register(P1001, port);
      await x.s.sipp.answeringPhone('1001', port);
      await x.s.sipp.carrier(5090, { ringMs: 1000 });
      await sleep(300);
      await bg(x, 'originate user/1001 011442079460000 XML default');
      await legTalksThenKill(x, '011442079460000');
    },
  },
  'uuid-transfer': {
    folder: 'uuid-transfer',
    async run(x) {
      await x.s.sipp.carrier(5090, { ringMs: 1000, calls: 2 });
      await sleep(300);
      x.s.sipp.call(P1001, '2025550123');
      const a = await created(x.drv, (e) => e.h['Call-Direction'] === 'inbound', 'the A-leg');
      const b = await created(x.drv, toDest('2025550123'), 'the B-leg');
      await answered(x.drv, b.h['Unique-ID']!);
      await sleep(1000);
      const cmd = `uuid_transfer ${a.h['Unique-ID']} 011442079460000 XML default`;
      x.notes.push(`driver: api ${cmd} -> ${(await x.drv.api(cmd)).trim()}`);
      await legTalksThenKill(x, '011442079460000');
    },
  },
  failover: {
    folder: 'failover-bridge',
    async run(x) {
      await x.s.sipp.carrier(5090, { refuse: true });
      await x.s.sipp.carrier(5092, { ringMs: 1000 });
      await sleep(300);
      await x.s.sipp.call(P1001, '6011442079460000', { scenario: 'uac-call.xml', talkMs: 2000 }).done;
      await idle(x.drv);
    },
  },
  api: {
    folder: 'api-trunks-db',
    async run(x) {
      await x.rec.command('noevents');
      const port = x.s.sipp.port();
      await x.s.sipp.register(P1001, port);
      for (const cmd of [
        'sofia status', 'sofia status gateway', 'sofia status gateway uas', 'sofia status gateway nosuchgw', 'sofia xmlstatus gateway',
        'show registrations', 'show registrations as json', 'sofia status profile internal reg', 'list_users', 'list_users user 1002', 'user_data 1001@127.0.0.1 var accountcode',
        'db insert/tollguard/suspended:acct-1002/TG_SPEND_DAY', 'db insert/tollguard/blocked:53/deny', 'db select/tollguard/suspended:acct-1002',
        'db select/tollguard/suspended:nobody', 'db exists/tollguard/blocked:53', 'db exists/tollguard/suspended:nobody', 'db list/tollguard', 'db list',
        'db count/tollguard', 'db count', 'db list/nosuchrealm', 'db select/tollguard', 'db nosuchverb/tollguard',
        'db delete/tollguard/suspended:acct-1002', 'db select/tollguard/suspended:acct-1002', 'db delete/tollguard/blocked:53', 'db delete/tollguard/blocked:53', 'db list/tollguard',
      ]) {
        const r = await x.rec.api(cmd);
        x.notes.push(`api ${cmd} -> ${JSON.stringify(r.length > 300 ? `${r.slice(0, 300)}...` : r)}`);
      }
    },
  },
};

function timeline(link: RawLink, events: EslEvt[]): string {
  const t0 = link.chunks[0]?.at ?? 0;
  const skip = new Set(['CHANNEL_STATE', 'CHANNEL_CALLSTATE', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CODEC', 'HEARTBEAT', 'RE_SCHEDULE', 'API', 'PRESENCE_IN', 'MESSAGE_QUERY', 'RECV_RTCP_MESSAGE', 'CALL_UPDATE']);
  const keys = ['Unique-ID', 'Call-Direction', 'Channel-Name', 'Caller-Destination-Number', 'Caller-Caller-ID-Number', 'variable_accountcode', 'variable_sip_gateway_name', 'Other-Leg-Unique-ID', 'Channel-Call-UUID', 'variable_user_name', 'variable_sip_from_user', 'Hangup-Cause', 'Event-Subclass', 'Caller-Context'];
  return events
    .filter((e) => !skip.has(e.name))
    .map((e) => `${(e.at - t0).toFixed(1).padStart(8)} ${e.name} ${keys.filter((k) => e.h[k] !== undefined).map((k) => `${k}=${k.endsWith('ID') || k === 'Channel-Call-UUID' ? e.h[k]!.slice(0, 8) : e.h[k]}`).join(' ')}`)
    .join('\n');
}

async function record(name: string): Promise<void> {
  const shape = shapes[name];
  if (!shape) throw new Error(`unknown shape ${name}; known: ${Object.keys(shapes).join(' ')}`);
  const s = await LabSession.open('freeswitch');
  try {
    const drv = await EslConnection.open(s.ns, PW, 'json ALL');
    s.onClose(() => drv.link.kill());
    const recs: [string, EslConnection][] = [];
    const rec = await EslConnection.open(s.ns, PW, 'json ALL');
    s.onClose(() => rec.link.kill());
    recs.push([shape.plainTwin ? `${shape.folder}-json` : shape.folder, rec]);
    if (shape.plainTwin) {
      const plain = await EslConnection.open(s.ns, PW, 'plain ALL');
      s.onClose(() => plain.link.kill());
      recs.push([`${shape.folder}-plain`, plain]);
    }
    const x: Ctx = { s, drv, rec, notes: [] };
    await shape.run(x);
    await sleep(500);
    for (const [folder, c] of recs) {
      await c.exit();
      for (let i = 0; i < 50 && !c.link.closed(); i++) await sleep(100);
      const dir = path.join(FIXTURES, 'freeswitch', folder);
      c.link.save(dir, '', 'eof');
      const names = c.events.map((e) => (e.name === 'CUSTOM' ? `CUSTOM ${e.h['Event-Subclass']}` : e.name));
      writeNotes(dir, [...x.notes, `\n== events: ${names.length}: ${countNames(names)}\n`, timeline(c.link, c.events), `\nsipp:\n${s.sipp.commands().join('\n')}`].join('\n'));
      console.log(`${name}: recorded into ${dir}`);
    }
  } finally {
    await s.close();
  }
}

for (const name of process.argv.slice(2)) await record(name);
