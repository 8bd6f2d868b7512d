/**
 * The PBX side of bench/flood.ts, in a process of its own (a PBX is not slowed by its
 * manager client): an embedded AMI or ESL simulator under attack. Started by flood.ts with
 * FLOOD_PBX (the path of a JSON FloodPbxSpec); prints JSON lines on stdout and takes commands on stdin:
 *
 *   {"type":"listening","port":N}  ->  "go"      the flood starts
 *   {"type":"sent", ...}           ->  "report FILE"  writes the figures to FILE
 *   {"type":"report"}              ->  "exit"
 *
 * The flood: `sources` addresses fail `failures` times each (wrong password), at `rate`
 * attempts/s in total; `window` sources attack at a time, round robin, and a source that
 * has failed `failures` times is replaced by the next, so bans fall due at a steady
 * rate / failures per second. The instant each source's last failure is written is kept.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { AmiSimServer } from '../lib/sim/ami-server.js';
import { EslSimServer } from '../lib/sim/esl-server.js';

export interface FloodPbxSpec {
  pbx: 'asterisk' | 'freeswitch';
  /** Asterisk: manager.conf writetimeout. */
  writeTimeoutMs?: number;
  /** FreeSWITCH: the listener's event queue. */
  eventQueue?: { maxQueued: number; maxLost: number };
  /** Addresses in attack order. */
  sources: string[];
  failures: number;
  rate: number;
  window: number;
}

export interface FloodPbxReport {
  /** Epoch ms (sub-ms) at which each source's last failure was written; NaN if never. */
  lastFailureAt: number[];
  startedAt: number;
  sentAt: number;
  /** When the PBX's sockets had taken every byte written (the client had read up). */
  drainedAt: number;
  attempts: number;
  frames: number;
  /** Frames the client's sockets took (read by tollguard, or in its kernel buffer at the end). */
  framesTaken: number;
  framesLost: number;
  drops: { at: number; reason: string; unsentBytes: number }[];
  logins: number;
}

const spec = JSON.parse(readFileSync(process.env.FLOOD_PBX ?? '', 'utf8')) as FloodPbxSpec;
const now = (): number => performance.timeOrigin + performance.now();
const out = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

const ami = spec.pbx === 'asterisk' ? await AmiSimServer.start({ writeTimeoutMs: spec.writeTimeoutMs ?? null, username: 'tollguard', secret: 'flood-secret' }) : null;
const esl = spec.pbx === 'freeswitch' ? await EslSimServer.start({ password: 'flood-secret', eventQueue: spec.eventQueue ?? null }) : null;
const port = ami?.port ?? esl!.port;

let frames = 0;
const server = ami ?? esl!;

/** One attempt of `address`: wrong password (what reaches the client depends on its subscription). */
function fail(address: string): void {
  if (ami) ami.authFailure({ address, username: '1001', kind: 'wrong-password' });
  else esl!.authFailure({ address, username: '1001', kind: 'wrong-password' });
}

const lastFailureAt = new Array<number>(spec.sources.length).fill(NaN);
let startedAt = 0;
let sentAt = 0;
let drainedAt = 0;
let attempts = 0;

async function flood(): Promise<void> {
  const total = spec.sources.length * spec.failures;
  const active: { source: number; count: number }[] = [];
  let nextSource = 0;
  while (active.length < spec.window && nextSource < spec.sources.length) active.push({ source: nextSource++, count: 0 });
  let cursor = 0;
  // Events the PBX fired for this client, sent or lost to a full queue.
  const fired = (): number => server.outputStats().events + server.outputStats().lostEvents;
  const eventsBefore = fired();
  startedAt = now();
  while (attempts < total) {
    const tickStart = now();
    const due = Math.min(total, Math.floor(((tickStart - startedAt) * spec.rate) / 1000)) - attempts;
    // A few ms of frames at a time, then the loop turns and the sockets flush: a PBX sends
    // from threads of its own, it does not hold its output back while it generates.
    for (let i = 0; i < due && active.length > 0 && ((i & 63) !== 0 || now() - tickStart < 4); i++) {
      if (cursor >= active.length) cursor = 0;
      const slot = active[cursor]!;
      const address = spec.sources[slot.source]!;
      fail(address);
      attempts++;
      if (++slot.count === spec.failures) {
        lastFailureAt[slot.source] = now();
        if (nextSource < spec.sources.length) active[cursor] = { source: nextSource++, count: 0 };
        else active.splice(cursor, 1);
      } else {
        cursor++;
      }
    }
    await new Promise((r) => (due > 0 ? setImmediate(r) : setTimeout(r, 1)));
  }
  sentAt = now();
  frames = fired() - eventsBefore;
  for (;;) {
    // Drained: live clients' sockets took every byte (a dropped client's are gone for good).
    if (server.outputStats().pending === 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  drainedAt = now();
}

function report(file: string): void {
  const drops = server.slowReaderDrops.map((d) => ({ at: d.at, reason: d.reason, unsentBytes: d.unsentBytes }));
  const o = server.outputStats();
  const r: FloodPbxReport = {
    lastFailureAt, startedAt, sentAt, drainedAt, attempts, frames,
    // Frames are of similar size: the share of characters never taken is the share of frames.
    framesTaken: Math.round((frames - o.lostEvents) * (o.written > 0 ? 1 - (o.lost + o.pending) / o.written : 1)),
    framesLost: o.lostEvents,
    drops,
    logins: ami ? ami.logins.filter((l) => l.ok).length : esl!.authAttempts,
  };
  writeFileSync(file, JSON.stringify(r));
}

out({ type: 'listening', port });
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'go') {
    await flood();
    out({ type: 'sent', attempts, frames, seconds: (sentAt - startedAt) / 1000, drainedAfterMs: drainedAt - sentAt });
  } else if (cmd === 'report' && arg) {
    report(arg);
    out({ type: 'report' });
  } else if (cmd === 'exit') {
    break;
  }
}
await server.close();
process.exit(0);
