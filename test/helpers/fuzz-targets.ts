import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import type { PbxEvent } from '../../lib/pbx/events.js';
import { SKIPPED_EVENTS } from '../../lib/pbx/asterisk/mapper.js';
import type { AmiMessage } from '../../lib/pbx/asterisk/message.js';
import { AmiParser } from '../../lib/pbx/asterisk/parser.js';
import { adoptSnapshot } from '../../lib/pbx/asterisk/snapshot.js';
import { EslEvent } from '../../lib/pbx/freeswitch/event.js';
import { EslParser } from '../../lib/pbx/freeswitch/parser.js';
import { channelRows } from '../../lib/pbx/freeswitch/snapshot.js';
import { amiMapper, eslMapper, trunkSet } from './mappers.js';

/**
 * The parsers and mappers as the clients drive them, with the invariants hostile input
 * must not break checked after every chunk: nothing throws, buffered and retained memory
 * stay under the caps, and every event that reaches the guard carries a real IP address.
 */

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');

export const AMI_CAPS = { maxLineBytes: 16 * 1024, maxMessageBytes: 64 * 1024 };
export const ESL_CAPS = { maxHeaderBytes: 16 * 1024, maxBodyBytes: 256 * 1024 };

/** Every server.raw of one PBX kind, named by folder. */
export function fixtureStreams(kind: 'asterisk' | 'freeswitch'): { name: string; raw: Buffer }[] {
  const dir = path.join(FIXTURES, kind);
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'server.raw')))
    .map((d) => ({ name: d, raw: fs.readFileSync(path.join(dir, d, 'server.raw')) }));
}

export interface FuzzStats {
  messages: number;
  events: number;
  parseErrors: number;
  resets: number;
  maxBuffered: number;
  maxRetained: number;
}

export class InvariantBroken extends Error {}

function checkEvent(e: PbxEvent): void {
  if ((e.kind === 'AuthFailed' || e.kind === 'AuthSucceeded') && net.isIP(e.address) === 0) {
    throw new InvariantBroken(`${e.kind} with address ${JSON.stringify(e.address)} is not an IP address`);
  }
}

/** Feeds chunks to an AmiParser and the AmiEventMapper (with CoreShowChannels snapshots). */
export function runAmi(chunks: readonly Buffer[]): FuzzStats {
  const stats: FuzzStats = { messages: 0, events: 0, parseErrors: 0, resets: 0, maxBuffered: 0, maxRetained: 0 };
  const clock = new ManualClock();
  const trunks = trunkSet(['trunk-uas']);
  const mapper = amiMapper((e) => {
    checkEvent(e);
    stats.events++;
  }, { clock });
  // Both parser configurations the client uses: with the skip list (events) and without.
  const parsers = [
    new AmiParser({ ...AMI_CAPS, skipEvents: SKIPPED_EVENTS, onError: () => stats.parseErrors++ }),
    new AmiParser({ ...AMI_CAPS, onError: () => stats.parseErrors++ }),
  ];
  let snapshot: AmiMessage[] = [];
  const onMessage = (m: AmiMessage): void => {
    stats.messages++;
    m.pairs();
    m.get('Channel');
    if (m.event === 'CoreShowChannel') {
      if (snapshot.length < 10_000) snapshot.push(m);
    } else if (m.event === 'CoreShowChannelsComplete') {
      adoptSnapshot(mapper.channels, snapshot, clock.now(), { pbx: 'fuzz', trunks, sources: new Map() });
      snapshot = [];
    } else {
      mapper.handle(m);
    }
  };
  let largestChunk = 0;
  for (const chunk of chunks) {
    clock.advance(1);
    largestChunk = Math.max(largestChunk, chunk.length);
    for (const p of parsers) {
      p.parse(chunk, onMessage);
      const buffered = p.bufferedBytes();
      const retained = p.retainedBytes();
      stats.maxBuffered = Math.max(stats.maxBuffered, buffered);
      stats.maxRetained = Math.max(stats.maxRetained, retained);
      if (buffered > AMI_CAPS.maxLineBytes) throw new InvariantBroken(`AmiParser holds ${buffered} bytes of an unfinished line (cap ${AMI_CAPS.maxLineBytes})`);
      // The parser may keep the caller's chunk, or its own buffer, grown (power of two) to
      // hold a capped line plus one read: bounded by the largest read, as a socket's are.
      const bound = 2 * (AMI_CAPS.maxLineBytes + largestChunk);
      if (retained > bound) throw new InvariantBroken(`AmiParser retains ${retained} bytes (bound ${bound})`);
    }
  }
  return stats;
}

/** Feeds chunks to an EslParser, EslEvent decoding, the FreeSWITCH mapper and the resync reader. */
export function runEsl(chunks: readonly Buffer[]): FuzzStats {
  const stats: FuzzStats = { messages: 0, events: 0, parseErrors: 0, resets: 0, maxBuffered: 0, maxRetained: 0 };
  const clock = new ManualClock();
  const mapper = eslMapper({ trunkAddresses: ['192.0.2.10'], clock });
  const emit = (e: PbxEvent): void => {
    checkEvent(e);
    stats.events++;
  };
  const parser = new EslParser({ ...ESL_CAPS, onError: () => stats.parseErrors++ });
  for (const chunk of chunks) {
    clock.advance(1);
    if (parser.isBroken()) {
      // The client drops the connection and starts a fresh one: a fresh framing state.
      parser.reset();
      stats.resets++;
    }
    parser.parse(chunk, (frame) => {
      stats.messages++;
      frame.header('Content-Type');
      if (frame.type === 'api/response') {
        channelRows(frame.bodyText());
        return;
      }
      const ev = EslEvent.fromFrame(frame);
      if (ev === null) return;
      ev.get('Unique-ID');
      ev.get('_body');
      if (ev.error() === null) ev.headers();
      if (!mapper.wants(ev) || ev.error() !== null) return;
      mapper.map(ev, emit);
    });
    const buffered = parser.bufferedBytes();
    const retained = parser.retainedBytes();
    stats.maxBuffered = Math.max(stats.maxBuffered, buffered);
    stats.maxRetained = Math.max(stats.maxRetained, retained);
    const cap = Math.max(ESL_CAPS.maxHeaderBytes, ESL_CAPS.maxBodyBytes);
    if (buffered > cap) throw new InvariantBroken(`EslParser holds ${buffered} bytes (cap ${cap})`);
    const bound = 4 * (cap + 1024);
    if (retained > bound) throw new InvariantBroken(`EslParser retains ${retained} bytes (bound ${bound})`);
  }
  return stats;
}
