/**
 * Load: `tollguard run` (a child process, as in production) against a purpose-built AMI
 * event pump that plays Asterisk 22 frames in the shapes of outbound-call/server.raw
 * (Newchannel, VarSet, Newexten, CEL, NewCallerid, NewAccountCode, NewConnectedLine,
 * DialBegin, Newstate, DialState, DialEnd, Bridge*, HangupRequest, SoftHangupRequest,
 * Hangup, Cdr) for 4,000 concurrent calls with a background of 20,000+ events/s, with
 * forbidden calls (to Cuba) arriving among them. The pump answers Login, CoreShowChannels,
 * Ping, Getvar, DBPut/DBDel and Hangup itself (AmiSimServer builds frames per call with
 * more work than this rate allows).
 *
 * Prints: events/s sustained, reaction time from writing a forbidden call's DialBegin to
 * reading tollguard's Hangup for it (median, p99, max), the daemon's event-loop delay, CPU (from
 * /proc/<pid>/stat) and resident memory at start, after warm-up and at the end, the live
 * calls tollguard counts vs the pump's, and the machine.
 *
 *   node --import tsx bench/load.ts                 # 5 min at load
 *   BENCH_SHORT=1 node --import tsx bench/load.ts   # 20 s
 *   LOAD_SECONDS=600 LOAD_EVENTS=30000 LOAD_CALLS=3000 node --import tsx bench/load.ts
 *   LOAD_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" ...   # profile the daemon
 *   LOAD_KEEP=1 ...   # keep the daemon's directory and its log (stdout and stderr: --trace-gc's lines)
 *   LOAD_REACTIONS=/tmp/r.txt ...   # each cut: ms since the start, reaction ms, DialBegin written (µs, CLOCK_MONOTONIC as in a --cpu-prof profile)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { controlRequest } from '../lib/control/client.js';
import type { StatusReport } from '../lib/control/protocol.js';
import type { AmiMessage } from '../lib/pbx/asterisk/message.js';
import { AmiParser } from '../lib/pbx/asterisk/parser.js';
import { machineTicks, processTicks, TICKS_PER_S } from './machine.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const SECONDS = Number(process.env.LOAD_SECONDS ?? (short ? 20 : 300));
const EVENTS_PER_SEC = Number(process.env.LOAD_EVENTS ?? 20_000);
const CONCURRENT = Number(process.env.LOAD_CALLS ?? 4000);
const FORBIDDEN_PER_SEC = Number(process.env.LOAD_FORBIDDEN ?? 10);
const MEAN_CALL_MS = 6000;
const TICK_MS = 5;
const repo = path.resolve(import.meta.dirname, '..');

// ---- frames ---------------------------------------------------------------------------

interface Chan { name: string; uid: string; linked: string; state: number; num: string; cname: string; conn: string; connName: string; acct: string; context: string; exten: string; prio: number }
interface Call { a: Chan; b: Chan; answerAt: number; endAt: number; answered: boolean; ended: boolean; forbidden: boolean; dialWrittenAt: bigint; bridge: string; startedAt: number; app: string }

const STATE = ['Down', '', '', '', 'Ring', 'Ringing', 'Up'];
let seq = 0;
let chanSeq = 0;
const nowSec = (): number => Math.floor(Date.now() / 1000);

function block(c: Chan, p = ''): string {
  return `${p}Channel: ${c.name}\r\n${p}ChannelState: ${c.state}\r\n${p}ChannelStateDesc: ${STATE[c.state]}\r\n${p}CallerIDNum: ${c.num}\r\n${p}CallerIDName: ${c.cname}\r\n` +
    `${p}ConnectedLineNum: ${c.conn}\r\n${p}ConnectedLineName: ${c.connName}\r\n${p}Language: en\r\n${p}AccountCode: ${c.acct}\r\n${p}Context: ${c.context}\r\n` +
    `${p}Exten: ${c.exten}\r\n${p}Priority: ${c.prio}\r\n${p}Uniqueid: ${c.uid}\r\n${p}Linkedid: ${c.linked}\r\n`;
}
const ev = (name: string, priv: string, body: string): string => `Event: ${name}\r\nPrivilege: ${priv}\r\n${body}\r\n`;
const cel = (name: string, c: Chan, app: string, data: string): string =>
  ev('CEL', 'call,all', `EventName: ${name}\r\nAccountCode: ${c.acct}\r\nCallerIDnum: ${c.num}\r\nCallerIDname: ${c.cname}\r\nCallerIDani: \r\nCallerIDrdnis: \r\nCallerIDdnid: \r\nExten: ${c.exten}\r\nContext: ${c.context}\r\nChannel: ${c.name}\r\nApplication: ${app}\r\nAppData: ${data}\r\nEventTime: ${new Date().toISOString().slice(0, 19).replace('T', ' ')}\r\nAMAFlags: DOCUMENTATION\r\nUniqueID: ${c.uid}\r\nLinkedID: ${c.linked}\r\nUserfield: \r\nPeer: \r\nPeerAccount: \r\nExtra: \r\n`);
const varset = (c: Chan, v: string, val: string): string => ev('VarSet', 'dialplan,all', `${block(c)}Variable: ${v}\r\nValue: ${val}\r\n`);
const bridge = (id: string, n: number): string => `BridgeUniqueid: ${id}\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\nBridgeName: <unknown>\r\nBridgeNumChannels: ${n}\r\nBridgeVideoSourceMode: none\r\n`;

function newCall(now: number, forbidden: boolean): { call: Call; frames: string[] } {
  const ep = String(1000 + (seq % 8000));
  const acct = forbidden ? 'acct-local' : `acct-${seq % 200}`;
  const dialed = forbidden ? `01153${String(7200000 + (seq % 100000))}` : `011442079${String(460000 + (seq % 100000)).padStart(6, '0')}`;
  const uidA = `${nowSec()}.${seq * 2}`;
  const app = `PJSIP/${dialed}@trunk-uas,60`;
  const a: Chan = { name: `PJSIP/${ep}-${(chanSeq++).toString(16).padStart(8, '0')}`, uid: uidA, linked: uidA, state: 4, num: ep, cname: ep, conn: '<unknown>', connName: '<unknown>', acct, context: 'from-internal', exten: dialed, prio: 1 };
  const b: Chan = { name: `PJSIP/trunk-uas-${(chanSeq++).toString(16).padStart(8, '0')}`, uid: `${nowSec()}.${seq * 2 + 1}`, linked: uidA, state: 0, num: '<unknown>', cname: '<unknown>', conn: '<unknown>', connName: '<unknown>', acct: '', context: 'from-trunk', exten: 's', prio: 1 };
  seq++;
  const dur = MEAN_CALL_MS * (0.5 + Math.random());
  const call: Call = { a, b, answered: false, ended: false, forbidden, dialWrittenAt: 0n, bridge: `${seq.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, startedAt: now, app,
    answerAt: forbidden ? Number.POSITIVE_INFINITY : now + 100 + Math.random() * 400, endAt: forbidden ? Number.POSITIVE_INFINITY : now + dur };
  const f: string[] = [];
  f.push(ev('Newchannel', 'call,all', block(a)));
  f.push(varset(a, 'SIPDOMAIN', '127.0.0.1'));
  f.push(ev('Newexten', 'dialplan,all', `${block(a)}Extension: ${dialed}\r\nApplication: NoOp\r\nAppData: Outbound ${dialed} from ${ep} acct=${acct}\r\n`));
  a.prio = 2;
  f.push(ev('Newexten', 'dialplan,all', `${block(a)}Extension: ${dialed}\r\nApplication: Dial\r\nAppData: ${app}\r\n`));
  f.push(cel('CHAN_START', a, '', ''), cel('APP_START', a, 'Dial', app));
  for (const v of ['DIALSTATUS', 'DIALEDPEERNUMBER', 'DIALEDPEERNAME']) f.push(varset(a, v, ''));
  f.push(ev('Newchannel', 'call,all', block(b)));
  Object.assign(b, { num: dialed, conn: ep, connName: ep, acct, exten: dialed });
  f.push(ev('NewCallerid', 'call,all', `${block(b)}CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n`));
  f.push(ev('NewAccountCode', 'call,all', `${block(b)}OldAccountCode: \r\n`));
  f.push(ev('NewConnectedLine', 'call,all', block(b)));
  f.push(ev('DialBegin', 'call,all', `${block(a)}${block(b, 'Dest')}DialString: ${dialed}@trunk-uas\r\n`));
  a.conn = dialed;
  f.push(ev('NewConnectedLine', 'call,all', block(a)));
  b.state = 5;
  f.push(ev('Newstate', 'call,all', block(b)));
  f.push(ev('DialState', 'call,all', `${block(a)}${block(b, 'Dest')}DialStatus: RINGING\r\n`));
  return { call, frames: f };
}

function answerFrames(c: Call): string[] {
  const { a, b } = c;
  b.state = 6;
  const f = [ev('Newstate', 'call,all', block(b))];
  b.exten = '';
  f.push(ev('DialEnd', 'call,all', `${block(a)}${block(b, 'Dest')}DialStatus: ANSWER\r\n`));
  a.state = 6;
  f.push(ev('Newstate', 'call,all', block(a)), cel('ANSWER', a, 'Dial', c.app));
  f.push(ev('BridgeCreate', 'call,all', bridge(c.bridge, 0)), ev('BridgeEnter', 'call,all', bridge(c.bridge, 1) + block(b)), ev('BridgeEnter', 'call,all', bridge(c.bridge, 2) + block(a)));
  f.push(varset(a, 'BRIDGEPEER', b.name));
  return f;
}

function hangupFrames(c: Call, byAction: boolean): string[] {
  const { a, b } = c;
  const f: string[] = [];
  if (!byAction) f.push(ev('HangupRequest', 'call,all', `${block(a)}Cause: 16\r\n`));
  if (c.answered) {
    f.push(ev('BridgeLeave', 'call,all', bridge(c.bridge, 1) + block(a)), ev('SoftHangupRequest', 'call,all', `${block(a)}Cause: 16\r\n`));
    f.push(ev('BridgeLeave', 'call,all', bridge(c.bridge, 0) + block(b)), ev('BridgeDestroy', 'call,all', bridge(c.bridge, 0)));
  } else {
    f.push(ev('SoftHangupRequest', 'call,all', `${block(a)}Cause: 16\r\n`), ev('DialEnd', 'call,all', `${block(a)}${block(b, 'Dest')}DialStatus: CANCEL\r\n`));
  }
  f.push(ev('Hangup', 'call,all', `${block(a)}Cause: 16\r\nCause-txt: Normal Clearing\r\n`), ev('Hangup', 'call,all', `${block(b)}Cause: 16\r\nCause-txt: Normal Clearing\r\n`));
  f.push(ev('Cdr', 'cdr,all', `AccountCode: ${a.acct}\r\nSource: ${a.num}\r\nDestination: ${a.exten}\r\nDestinationContext: ${a.context}\r\nCallerID: "${a.cname}" <${a.num}>\r\nChannel: ${a.name}\r\nDestinationChannel: ${b.name}\r\nLastApplication: Dial\r\nLastData: ${c.app}\r\nStartTime: \r\nAnswerTime: \r\nEndTime: \r\nDuration: 0\r\nBillableSeconds: 0\r\nDisposition: ${c.answered ? 'ANSWERED' : 'NO ANSWER'}\r\nAMAFlags: DOCUMENTATION\r\nUniqueID: ${a.uid}\r\nUserField: \r\n`));
  return f;
}

// ---- the pump ----------------------------------------------------------------------------

const live = new Map<string, Call>(); // by A channel name
/** The same calls by trunk-leg channel name: what tollguard hangs up. */
const byTrunkLeg = new Map<string, Call>();
const reactions: number[] = [];
const reactionsFile = process.env.LOAD_REACTIONS ?? null;
const benchStart = Date.now();
let session: net.Socket | null = null;
let loggedIn = false;
let written = 0;
let backpressureTicks = 0;

/** `lines` = "Success\r\nMessage: ...\r\n": the Response value first, ActionID second, as Asterisk does. */
function reply(s: net.Socket, id: string | null, lines: string): void {
  const nl = lines.indexOf('\r\n');
  s.write(`Response: ${lines.slice(0, nl)}\r\n${id !== null ? `ActionID: ${id}\r\n` : ''}${lines.slice(nl + 2)}\r\n`);
}

function onAction(s: net.Socket, m: AmiMessage): void {
  const name = (m.get('Action') ?? '').toLowerCase();
  const id = m.actionId;
  switch (name) {
    case 'login':
      loggedIn = true;
      session = s;
      reply(s, id, 'Success\r\nMessage: Authentication accepted\r\n');
      s.write(ev('FullyBooted', 'system,all', 'Uptime: 10\r\nLastReload: 10\r\nStatus: Fully Booted\r\n'));
      return;
    case 'ping':
      reply(s, id, `Success\r\nPing: Pong\r\nTimestamp: ${(Date.now() / 1000).toFixed(6)}\r\n`);
      return;
    case 'coreshowchannels': {
      reply(s, id, 'Success\r\nEventList: start\r\nMessage: Channels will follow\r\n');
      let n = 0;
      for (const c of live.values()) {
        for (const ch of [c.a, c.b]) {
          n++;
          s.write(`Event: CoreShowChannel\r\nActionID: ${id ?? ''}\r\n${block(ch)}Application: ${ch === c.a ? 'Dial' : 'AppDial'}\r\nApplicationData: ${ch === c.a ? c.app : '(Outgoing Line)'}\r\nDuration: 00:00:01\r\nBridgeId: \r\n\r\n`);
        }
      }
      s.write(`Event: CoreShowChannelsComplete\r\nActionID: ${id ?? ''}\r\nEventList: Complete\r\nListItems: ${n}\r\n\r\n`);
      return;
    }
    case 'hangup': {
      const at = process.hrtime.bigint();
      const c = byTrunkLeg.get(m.get('Channel') ?? '') ?? live.get(m.get('Channel') ?? '');
      if (!c) {
        reply(s, id, 'Error\r\nMessage: No such channel\r\n');
        return;
      }
      if (c.forbidden) {
        reactions.push(Number(at - c.dialWrittenAt) / 1e6);
        if (reactionsFile) fs.appendFileSync(reactionsFile, `${Date.now() - benchStart} ${reactions.at(-1)!.toFixed(3)} ${c.dialWrittenAt / 1000n}\n`);
      }
      reply(s, id, 'Success\r\nMessage: Channel Hungup\r\n');
      end(c, true);
      return;
    }
    case 'getvar':
      reply(s, id, `Success\r\nVariable: ${m.get('Variable') ?? ''}\r\nValue: \r\n`);
      return;
    case 'dbput':
      reply(s, id, 'Success\r\nMessage: Updated database successfully\r\n');
      return;
    case 'dbdel':
      reply(s, id, 'Success\r\nMessage: Key deleted successfully\r\n');
      return;
    default:
      reply(s, id, `Error\r\nMessage: Invalid/unknown command: ${name}.\r\n`);
  }
}

function closeSession(): void {
  session?.destroy();
}

function end(c: Call, byAction: boolean): void {
  if (c.ended) return;
  c.ended = true;
  live.delete(c.a.name);
  byTrunkLeg.delete(c.b.name);
  const f = hangupFrames(c, byAction);
  written += f.length;
  session?.write(f.join(''));
}

const server = net.createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => undefined);
  s.on('close', () => {
    if (session === s) {
      session = null;
      loggedIn = false;
    }
  });
  const parser = new AmiParser();
  s.write('Asterisk Call Manager/11.0.0\r\n');
  s.on('data', (d: Buffer) => parser.parse(d, (m) => onAction(s, m)));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as net.AddressInfo).port;

// ---- the daemon ----------------------------------------------------------------------------

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollguard-load-'));
const metricsPort = await new Promise<number>((resolve) => {
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (probe.address() as net.AddressInfo).port;
    probe.close(() => resolve(p));
  });
});
fs.writeFileSync(path.join(dir, 'rates.csv'), 'prefix,rate_per_min,connect_fee,first_increment,next_increment\n+44,0.02,0,60,60\n+1,0.01,0,6,6\n+53,1.10,0,60,60\n');
const configFile = path.join(dir, 'tollguard.yaml');
fs.writeFileSync(configFile, `mode: enforce
stateDir: ${dir}/state
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, port: ${port}, username: tollguard, secret: "\${LOAD_SECRET}", trunks: [trunk-uas] }
destinations: { deny: [CU, premium-rate, satellite] }
rates: { file: ${dir}/rates.csv, currency: USD, unrated: deny }
accounts:
  "*": { international: true, allow: [GB], onBreach: cut }
  acct-local: { international: false }
blocklist: { firewall: { type: none } }
control: { socket: ${dir}/control.sock }
alerts: { dailySummary: null }
log: { level: warn, file: null }
metrics: { listen: "127.0.0.1:${metricsPort}" }
`, { mode: 0o600 });
// As in production: the compiled daemon with the unit's heap cap (systemd/tollguard.service).
// tsx only when dist/ is missing; it adds about 25 MiB of loader.
const compiled = path.join(repo, 'dist/daemon/cli.js');
const entry = fs.existsSync(compiled) ? [compiled] : ['--import', 'tsx', path.join(repo, 'daemon/cli.ts')];
const heapCap = process.env.LOAD_HEAP_MB ?? '256';
const snapshots = process.env.LOAD_HEAPSNAPSHOT === '1';
const nodeFlags = [`--max-old-space-size=${heapCap}`, '--max-semi-space-size=32', ...(snapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] : []), ...(process.env.LOAD_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
// stdout too: what --trace-gc prints.
const daemonLog = fs.openSync(path.join(dir, 'daemon.log'), 'w');
const child = spawn(process.execPath, [...nodeFlags, ...entry, 'run', '--config', configFile], {
  cwd: dir, env: { ...process.env, NODE_OPTIONS: '', LOAD_SECRET: 'load-secret' }, stdio: ['ignore', daemonLog, daemonLog],
});
const pid = child.pid!;
const procCpuMs = (): number => ((processTicks(pid) ?? NaN) * 1000) / TICKS_PER_S;
const procRssMb = (): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
/** The daemon's own V8 figures from /metrics (prom-client's default metrics), in MiB. */
const heapMb = async (): Promise<{ used: number; total: number; external: number }> => {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const g = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
    return { used: g('nodejs_heap_size_used_bytes'), total: g('nodejs_heap_size_total_bytes'), external: g('nodejs_external_memory_bytes') };
  } catch {
    return { used: NaN, total: NaN, external: NaN };
  }
};
/** prom-client's event-loop delay figures (reset at each scrape: the last 10 s of load). */
const loopLag = async (): Promise<{ p50: string; p99: string; max: string }> => {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    // The histogram holds the intervals between ticks of a 10 ms timer: minus 10 ms, the lateness.
    const g = (name: string): string => Math.max(0, Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) * 1000 - 10).toFixed(2);
    return { p50: g('nodejs_eventloop_lag_p50_seconds'), p99: g('nodejs_eventloop_lag_p99_seconds'), max: g('nodejs_eventloop_lag_max_seconds') };
  } catch {
    return { p50: '?', p99: '?', max: '?' };
  }
};
const heapSeen: number[] = [];
const snapshot = async (label: string): Promise<void> => {
  if (!snapshots) return;
  const before = new Set(fs.readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  // The daemon writes the snapshot on its main thread: once it answers again, the file is whole.
  await sleep(200);
  await status();
  const made = fs.readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
  if (made === undefined) {
    console.log(`  heap snapshot ${label}: none written`);
    return;
  }
  const keep = path.join(os.tmpdir(), `tollguard-load-${label}.heapsnapshot`);
  fs.renameSync(path.join(dir, made), keep);
  console.log(`  heap snapshot ${label}: ${keep} (${(fs.statSync(keep).size / 2 ** 20).toFixed(0)} MiB)`);
};
const status = async (): Promise<StatusReport | null> => {
  const r = await controlRequest(path.join(dir, 'control.sock'), 'status', {}, 10_000);
  return r.ok ? (r.value as StatusReport) : null;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (let i = 0; i < 400 && (!loggedIn || (await status())?.links[0]?.status !== 'ready'); i++) await sleep(50);
if (!loggedIn) throw new Error(`daemon did not log in; see ${dir}/daemon.log`);
const rssStart = procRssMb();

// ---- play ---------------------------------------------------------------------------------

console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`);
console.log(`load: ${CONCURRENT} concurrent calls, target ${EVENTS_PER_SEC} events/s, ${FORBIDDEN_PER_SEC} forbidden calls/s, ${SECONDS} s at load after a 10 s ramp; daemon pid ${pid} (tollguard run, SQLite store)`);

const slots = new Map<number, Call[]>();
const at = (t: number, c: Call): void => {
  const k = Math.floor(t / TICK_MS);
  const l = slots.get(k);
  if (l) l.push(c);
  else slots.set(k, [c]);
};
let started = 0;
let forbiddenStarted = 0;
let lastSlot = Math.floor(Date.now() / TICK_MS);
const rampMs = 10_000;
const t0 = Date.now();
const endAt = t0 + rampMs + SECONDS * 1000;
let measureFrom = 0;
let cpuAtMeasure = 0;
let machineAtMeasure = { busy: 0, total: 0 };
let pumpAtMeasure = process.cpuUsage();
let writtenAtMeasure = 0;
let rssAfterRamp = 0;
let heapAfterRamp = 0;
const pumpCpu0 = process.cpuUsage();
let lastReport = Date.now();

while (Date.now() < endAt && session) {
  const now = Date.now();
  if (measureFrom === 0 && now - t0 >= rampMs) {
    measureFrom = now;
    cpuAtMeasure = procCpuMs();
    machineAtMeasure = machineTicks();
    pumpAtMeasure = process.cpuUsage();
    writtenAtMeasure = written;
    rssAfterRamp = procRssMb();
    heapAfterRamp = (await heapMb()).used;
    await snapshot('after-ramp');
    reactions.length = 0;
  }
  if (session.writableLength > 8 * 1024 * 1024) {
    backpressureTicks++;
    await sleep(TICK_MS);
    continue;
  }
  const out: string[] = [];
  // Calls due to start: keep CONCURRENT live, churning at CONCURRENT / mean duration.
  const elapsed = now - t0;
  const wantStarted = elapsed < rampMs ? (CONCURRENT * elapsed) / rampMs + (CONCURRENT / MEAN_CALL_MS) * elapsed : CONCURRENT + (CONCURRENT / MEAN_CALL_MS) * elapsed;
  while (started < wantStarted) {
    started++;
    const { call, frames } = newCall(now, false);
    live.set(call.a.name, call);
    byTrunkLeg.set(call.b.name, call);
    at(call.answerAt, call);
    at(call.endAt, call);
    out.push(...frames);
  }
  const forbiddenNow: Call[] = [];
  while (forbiddenStarted < (FORBIDDEN_PER_SEC * elapsed) / 1000) {
    forbiddenStarted++;
    const { call, frames } = newCall(now, true);
    live.set(call.a.name, call);
    byTrunkLeg.set(call.b.name, call);
    out.push(...frames);
    forbiddenNow.push(call);
  }
  // Only slots wholly past: everything in them is due.
  const slot = Math.floor(now / TICK_MS);
  for (let k = lastSlot; k < slot; k++) {
    for (const c of slots.get(k) ?? []) {
      if (c.ended) continue;
      if (!c.answered && c.answerAt < slot * TICK_MS) {
        c.answered = true;
        out.push(...answerFrames(c));
      }
      if (c.endAt < slot * TICK_MS) {
        c.ended = true;
        live.delete(c.a.name);
        byTrunkLeg.delete(c.b.name);
        out.push(...hangupFrames(c, false));
      }
    }
    slots.delete(k);
  }
  lastSlot = slot;
  // Background up to the target rate: dialplan VarSets on live channels (54 % of real traffic).
  const due = (EVENTS_PER_SEC * elapsed) / 1000 - written - out.length;
  if (due > 0 && live.size > 0) {
    const it = live.values();
    for (let i = 0; i < due; i++) {
      const c = it.next().value;
      if (!c) break;
      out.push(varset(c.a, 'RTPAUDIOQOS', `ssrc=${i};themssrc=${seq};lp=0;rxjitter=0.000000;rxcount=${i}`));
    }
  }
  if (out.length) {
    written += out.length;
    session.write(out.join(''));
    // The write instant of the batch that carries their DialBegin.
    const wroteAt = process.hrtime.bigint();
    for (const c of forbiddenNow) c.dialWrittenAt = wroteAt;
  }
  if (Date.now() - lastReport >= 10_000) {
    lastReport = Date.now();
    const s = await status();
    const h = await heapMb();
    if (measureFrom !== 0) heapSeen.push(h.used);
    console.log(`  t=${((Date.now() - t0) / 1000).toFixed(0)}s live ${live.size} (tollguard ${s?.liveCalls.length ?? '?'}), written ${written}, rss ${procRssMb().toFixed(0)} MiB, heap used ${h.used.toFixed(0)} / total ${h.total.toFixed(0)} MiB, external ${h.external.toFixed(0)} MiB, cuts measured ${reactions.length}`);
  }
  await sleep(TICK_MS);
}

// Before any other scrape: prom-client resets the delay histogram at each one.
const lag = await loopLag();
const secs = (Date.now() - measureFrom) / 1000;
const cpuMs = procCpuMs() - cpuAtMeasure;
const machine = machineTicks();
const pumpMs = ((): number => {
  const u = process.cpuUsage(pumpAtMeasure);
  return (u.user + u.system) / 1000;
})();
// Busy time of the whole machine not spent by the daemon or this pump: other people's work.
const othersShare = Math.max(0, (machine.busy - machineAtMeasure.busy) * (1000 / TICKS_PER_S) - cpuMs - pumpMs) / ((machine.total - machineAtMeasure.total) * (1000 / TICKS_PER_S));
const eventsPerSec = (written - writtenAtMeasure) / secs;
const rssEnd = procRssMb();
const heapEnd = (await heapMb()).used;
await snapshot('end');
await sleep(1000);
const s = await status();
const pumpCpu = process.cpuUsage(pumpCpu0);
const sorted = [...reactions].sort((a, b) => a - b);
const q = (p: number): string => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2) : 'n/a');
console.log(`events/s sustained over ${secs.toFixed(0)} s: ${eventsPerSec.toFixed(0)} (target ${EVENTS_PER_SEC}; ${backpressureTicks} ticks held back by socket back-pressure)`);
console.log(`calls: ${started} legitimate, ${forbiddenStarted} forbidden; live at the end: pump ${live.size}, tollguard ${s?.liveCalls.length ?? '?'}`);
console.log(`reaction DialBegin written -> Hangup read (${sorted.length} cuts): median ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${sorted.length ? sorted[sorted.length - 1]!.toFixed(2) : 'n/a'} ms (target p99 < 2 ms)`);
console.log(`daemon CPU: ${((cpuMs / (secs * 1000)) * 100).toFixed(1)} % of one core (${(cpuMs / secs / (eventsPerSec || 1) * 1000).toFixed(1)} µs per event); pump CPU ${(((pumpCpu.user + pumpCpu.system) / 1000 / ((Date.now() - t0) || 1)) * 100).toFixed(1)} %; everything else on the machine ${(othersShare * 100).toFixed(0)} % of its CPU time (load average ${os.loadavg()[0]!.toFixed(2)})`);
console.log(`daemon RSS: ${rssStart.toFixed(0)} MiB at start, ${rssAfterRamp.toFixed(0)} MiB after the ramp, ${rssEnd.toFixed(0)} MiB after ${secs.toFixed(0)} s at load (node flags: ${nodeFlags.join(' ')}, ${entry.length === 1 ? 'compiled dist/' : 'tsx'})`);
console.log(`daemon event-loop delay (how late a 10 ms timer ran) since the last 10-s report: p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms`);
const third = Math.max(1, Math.floor(heapSeen.length / 3));
const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
console.log(`daemon V8 heap used: ${heapAfterRamp.toFixed(0)} MiB after the ramp, ${heapEnd.toFixed(0)} MiB at the end; mean of the first third of the samples ${meanOf(heapSeen.slice(0, third)).toFixed(0)} MiB, of the last third ${meanOf(heapSeen.slice(-third)).toFixed(0)} MiB, max ${Math.max(...heapSeen, 0).toFixed(0)} MiB`);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
server.close();
closeSession();
if (process.env.LOAD_KEEP === '1') console.log(`kept ${dir} (daemon.log)`);
else fs.rmSync(dir, { recursive: true, force: true });
