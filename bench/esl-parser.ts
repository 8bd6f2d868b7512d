/**
 * ESL event throughput over loopback TCP: EslParser (+ EslEvent) vs modesl 1.2.1's Parser,
 * on real-size events from the recorded outbound call (CHANNEL_CREATE ~6 KB,
 * CHANNEL_HANGUP_COMPLETE / CHANNEL_DESTROY ~11-13 KB), json and plain; then the sofia
 * register_attempt / register_failure events of a registration flood (~0.8-1 KB).
 *   node --import tsx bench/esl-parser.ts        (BENCH_SHORT=1 for a quick run)
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { EslEvent } from '../lib/pbx/freeswitch/event.js';
import { EslParser, type EslFrame } from '../lib/pbx/freeswitch/parser.js';

const require = createRequire(import.meta.url);
type ModeslEvent = { getHeader(name: string): string | null };
const ModeslParser = require('modesl/lib/esl/Parser.js') as new (socket: net.Socket) => {
  on(name: 'esl::event', fn: (e: ModeslEvent) => void): void;
};

const fixtures = path.resolve(import.meta.dirname, '../test/fixtures/freeswitch');
const SHORT = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const EVENTS = SHORT ? 20_000 : 150_000;
const ROUNDS = SHORT ? 1 : 3;
const PICK = new Set(['CHANNEL_CREATE', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_DESTROY']);

function sampleFrames(scenario: string, pick: (ev: EslEvent) => boolean = (ev) => PICK.has(ev.name)): Buffer[] {
  const frames: Buffer[] = [];
  new EslParser().parse(fs.readFileSync(path.join(fixtures, scenario, 'server.raw')), (f: EslFrame) => {
    const ev = EslEvent.fromFrame(f);
    // Event frames carry exactly these two outer headers, Content-Length first.
    const body = f.body ?? (f.text !== null ? Buffer.from(f.text) : null);
    if (ev && body && pick(ev)) frames.push(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\nContent-Type: ${f.type}\n\n`), body]));
  });
  return frames;
}

/** Streams `count` events (cycling through the samples) to one client, as fast as TCP takes them. */
async function serve(samples: Buffer[], count: number): Promise<{ port: number; close: () => void }> {
  const batch = Buffer.concat(Array.from({ length: 64 }, (_, i) => samples[i % samples.length] as Buffer));
  const server = net.createServer((s) => {
    let sent = 0;
    const pump = (): void => {
      while (sent < count) {
        const n = Math.min(64, count - sent);
        const chunk = n === 64 ? batch : Buffer.concat(Array.from({ length: n }, (_, i) => samples[i % samples.length] as Buffer));
        sent += n;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

type Consumer = (socket: net.Socket, onEvent: () => void) => void;

/** The headers the adapter's mapper reads of a channel event it wants. */
const READ = [
  'Unique-ID', 'Call-Direction', 'Channel-Call-UUID', 'Other-Leg-Unique-ID', 'Caller-Destination-Number',
  'variable_sip_gateway_name', 'Channel-Name', 'variable_accountcode', 'variable_sip_auth_username',
  'Caller-Caller-ID-Number', 'Caller-Network-Addr', 'Hangup-Cause',
];

/** What the auth mapping reads of a sofia register_attempt / register_failure (the flood's events). */
const AUTH_READ = ['network-ip', 'network-port', 'user-agent', 'auth-result', 'username', 'to-user', 'call-id', 'registration-type'];
const AUTH = new Set(['sofia::register_attempt', 'sofia::register_failure']);

type Use = 'name' | 'adapter' | 'all' | 'auth';
const ours = (use: Use): Consumer => (socket, onEvent) => {
  const parser = new EslParser();
  socket.on('data', (chunk: Buffer) =>
    parser.parse(chunk, (f) => {
      const ev = EslEvent.fromFrame(f);
      if (!ev) return;
      if (use === 'name') {
        if (ev.name !== '') onEvent();
      } else if (use === 'adapter' || use === 'auth') {
        let n = 0;
        for (const h of use === 'auth' ? AUTH_READ : READ) if (ev.get(h) !== undefined) n++;
        if (n > 0) onEvent();
      } else if (ev.headers()['Unique-ID'] !== undefined) onEvent();
    }),
  );
};

const modesl = (read: string[]): Consumer => (socket, onEvent) => {
  const parser = new ModeslParser(socket);
  parser.on('esl::event', (e) => {
    let n = 0;
    for (const h of read) if (e.getHeader(h) !== null) n++;
    if (n > 0) onEvent();
  });
};

async function measure(samples: Buffer[], consumer: Consumer): Promise<number> {
  const { port, close } = await serve(samples, EVENTS);
  const socket = net.createConnection({ port, host: '127.0.0.1' });
  const t0 = process.hrtime.bigint();
  let n = 0;
  await new Promise<void>((resolve) => {
    consumer(socket, () => {
      if (++n === EVENTS) resolve();
    });
    socket.on('close', () => resolve());
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  socket.destroy();
  close();
  if (n !== EVENTS) throw new Error(`only ${n} of ${EVENTS} events seen`);
  return EVENTS / secs;
}

async function best(samples: Buffer[], consumer: Consumer): Promise<number> {
  let top = 0;
  for (let i = 0; i < ROUNDS; i++) top = Math.max(top, await measure(samples, consumer));
  return top;
}

const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} ev/s`;

console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'}, node ${process.version}, ${EVENTS} events x ${ROUNDS} rounds (best)`);
for (const format of ['json', 'plain'] as const) {
  const samples = sampleFrames(`outbound-call-${format}`);
  const sizes = samples.map((s) => s.length);
  const mb = (EVENTS * sizes.reduce((a, b) => a + b, 0)) / sizes.length / 1e6;
  console.log(`\n${format}: ${samples.length} sample events, ${Math.min(...sizes)}-${Math.max(...sizes)} bytes, ${mb.toFixed(0)} MB per run`);
  const base = await best(samples, modesl(READ));
  const adapter = await best(samples, ours('adapter'));
  const lazy = await best(samples, ours('name'));
  const full = await best(samples, ours('all'));
  console.log(`  modesl 1.2.1 Parser, 12 headers read              ${fmt(base)}`);
  console.log(`  EslParser + EslEvent, the 12 headers the adapter reads  ${fmt(adapter)}  ${(adapter / base).toFixed(2)}x modesl`);
  console.log(`  EslParser + EslEvent, Event-Name only (event dropped)   ${fmt(lazy)}  ${(lazy / base).toFixed(2)}x modesl`);
  console.log(`  EslParser + EslEvent, every header decoded              ${fmt(full)}  ${(full / base).toFixed(2)}x modesl`);
}

for (const format of ['json', 'plain'] as const) {
  const samples = sampleFrames(`register-bruteforce-${format}`, (ev) => AUTH.has(ev.subclass ?? ''));
  const sizes = samples.map((s) => s.length);
  console.log(`\n${format}, sofia auth events (the flood's): ${samples.length} samples, ${Math.min(...sizes)}-${Math.max(...sizes)} bytes`);
  const base = await best(samples, modesl(AUTH_READ));
  const auth = await best(samples, ours('auth'));
  console.log(`  modesl 1.2.1 Parser, 8 headers read                ${fmt(base)}`);
  console.log(`  EslParser + EslEvent, the 8 headers auth mapping reads  ${fmt(auth)}  ${(auth / base).toFixed(2)}x modesl`);
}
