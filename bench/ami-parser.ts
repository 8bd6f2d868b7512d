/**
 * AMI parsing throughput: the realistic event mix of outbound-call/server.raw (Asterisk 22,
 * read=all: 54 % VarSet, CEL, Cdr, ...) repeated to ~200,000 events, sent over loopback TCP
 * and read by AmiParser and by asterisk-manager 0.2.0 (the usual npm AMI client).
 *
 *   node --import tsx bench/ami-parser.ts          # ~200,000 events, 3 runs each
 *   BENCH_SHORT=1 node --import tsx bench/ami-parser.ts   (or argv `--short`)
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SKIPPED_EVENTS } from '../lib/pbx/asterisk/mapper.js';
import { AmiParser } from '../lib/pbx/asterisk/parser.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const TARGET_EVENTS = short ? 20_000 : 200_000;
const RUNS = short ? 1 : 3;

const fixture = path.resolve(import.meta.dirname, '../test/fixtures/asterisk/outbound-call/server.raw');
const text = fs.readFileSync(fixture, 'latin1');
const events = text
  .slice(text.indexOf('\r\n') + 2)
  .split('\r\n\r\n')
  .filter((b) => b.startsWith('Event: '))
  .map((b) => `${b}\r\n\r\n`);
const repeats = Math.ceil(TARGET_EVENTS / events.length);
const oneRound = Buffer.from(events.join(''), 'latin1');
const stream = Buffer.concat(Array.from({ length: repeats }, () => oneRound));
const total = events.length * repeats;
const fields = events.reduce((n, e) => n + e.split('\r\n').length - 2, 0) / events.length;

/** A server that sends the banner and the whole stream to each connection, honouring back-pressure. */
async function streamServer(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    let off = 0;
    const pump = (): void => {
      while (off < stream.length) {
        const end = Math.min(off + 65536, stream.length);
        const more = socket.write(stream.subarray(off, end));
        off = end;
        if (!more) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

function port(server: net.Server): number {
  const a = server.address();
  if (a === null || typeof a !== 'object') throw new Error('no port');
  return a.port;
}

function viaAmiParser(p: number, skip: boolean): Promise<{ ms: number; delivered: number }> {
  return new Promise((resolve) => {
    const parser = new AmiParser(skip ? { skipEvents: SKIPPED_EVENTS } : {});
    let delivered = 0;
    const t0 = process.hrtime.bigint();
    const socket = net.createConnection({ port: p, host: '127.0.0.1' });
    socket.on('data', (chunk: Buffer) =>
      parser.parse(chunk, (m) => {
        if (m.event !== null) delivered++;
      }),
    );
    socket.on('close', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, delivered }));
  });
}

interface LegacyManager {
  on(event: string, fn: (e: unknown) => void): void;
  disconnect(): void;
}

function viaAsteriskManager(p: number): Promise<{ ms: number; delivered: number }> {
  const require = createRequire(import.meta.url);
  const Manager = require('asterisk-manager') as (port: number, host: string) => LegacyManager;
  return new Promise((resolve) => {
    let delivered = 0;
    const t0 = process.hrtime.bigint();
    const ami = Manager(p, '127.0.0.1');
    ami.on('managerevent', () => {
      delivered++;
      if (delivered === total) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        ami.disconnect();
        resolve({ ms, delivered });
      }
    });
  });
}

function inMemory(): number {
  const parser = new AmiParser();
  let n = 0;
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < stream.length; off += 65536) parser.parse(stream.subarray(off, off + 65536), () => n++);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (n !== total) throw new Error(`in-memory parse gave ${n} of ${total}`);
  return (total / ms) * 1000;
}

function best(xs: number[]): number {
  return Math.max(...xs);
}

async function main(): Promise<void> {
  console.log(`AMI parser benchmark: ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, node ${process.version}`);
  console.log(`stream: ${total.toLocaleString('en')} events (${events.length} from outbound-call/server.raw x ${repeats}), ${(stream.length / 1048576).toFixed(1)} MiB, ${fields.toFixed(1)} fields/event, CRLF, loopback TCP${short ? ' [short]' : ''}`);
  const server = await streamServer();
  const p = port(server);
  const rate = (r: { ms: number }): number => (total / r.ms) * 1000;
  const results: Record<string, number[]> = { ami: [], amiSkip: [], legacy: [] };
  for (let i = 0; i < RUNS; i++) {
    const a = await viaAmiParser(p, false);
    if (a.delivered !== total) throw new Error(`AmiParser delivered ${a.delivered} of ${total}`);
    results.ami!.push(rate(a));
    const s = await viaAmiParser(p, true);
    results.amiSkip!.push(rate(s));
    const l = await viaAsteriskManager(p);
    results.legacy!.push(rate(l));
  }
  server.close();
  const fmt = (x: number): string => `${Math.round(x).toLocaleString('en').padStart(10)} ev/s`;
  const legacy = best(results.legacy!);
  console.log(`AmiParser, every event built          ${fmt(best(results.ami!))}   ${(best(results.ami!) / legacy).toFixed(1)}x asterisk-manager`);
  console.log(`AmiParser, adapter's skip list        ${fmt(best(results.amiSkip!))}   ${(best(results.amiSkip!) / legacy).toFixed(1)}x asterisk-manager`);
  console.log(`asterisk-manager 0.2.0                ${fmt(legacy)}`);
  console.log(`AmiParser in memory (no socket)       ${fmt(inMemory())}`);
  console.log(`(best of ${RUNS} run${RUNS > 1 ? 's' : ''} each; runs: ${Object.entries(results).map(([k, v]) => `${k} ${v.map((x) => Math.round(x / 1000)).join('/')}k`).join(', ')})`);
}

await main();
