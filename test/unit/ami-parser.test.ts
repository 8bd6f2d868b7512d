import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { AmiParser, type AmiParserOptions } from '../../lib/pbx/asterisk/parser.js';
import type { AmiMessage } from '../../lib/pbx/asterisk/message.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/asterisk');

function rawFiles(): string[] {
  const out: string[] = [];
  for (const dir of fs.readdirSync(FIXTURES)) {
    const full = path.join(FIXTURES, dir);
    if (!fs.statSync(full).isDirectory()) continue;
    for (const f of fs.readdirSync(full)) if (f.endsWith('server.raw')) out.push(path.join(dir, f));
  }
  return out.sort();
}

type Pairs = [string, string][];

/** An independent, naive reading of the same bytes: what the messages must be. */
function reference(raw: Buffer): { banner: string; messages: Pairs[] } {
  const text = raw.toString('latin1');
  const firstEnd = text.indexOf('\r\n');
  const banner = text.slice(0, firstEnd);
  const messages = text
    .slice(firstEnd + 2)
    .split('\r\n\r\n')
    .filter((b) => b.length > 0)
    .map((block) =>
      block.split('\r\n').map((line): [string, string] => {
        const i = line.indexOf(': ');
        assert.ok(i > 0 || line.endsWith(':'), `fixture line without ": " ${line}`);
        return i > 0 ? [line.slice(0, i), line.slice(i + 2)] : [line.slice(0, -1), ''];
      }),
    );
  return { banner, messages };
}

function parseChunks(chunks: Buffer[], opts: AmiParserOptions = {}): { banner: string | null; messages: AmiMessage[]; errors: string[] } {
  const errors: string[] = [];
  const p = new AmiParser({ ...opts, onError: (_c, d) => errors.push(d) });
  const messages: AmiMessage[] = [];
  for (const c of chunks) p.parse(c, (m) => messages.push(m));
  return { banner: p.banner, messages, errors };
}

function splitAt(raw: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % (raw.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(raw.subarray(prev, c));
    prev = c;
  }
  out.push(raw.subarray(prev));
  return out.filter((b) => b.length > 0);
}

function pairsOf(ms: AmiMessage[]): Pairs[] {
  return ms.map((m) => m.pairs());
}

describe('AmiParser on the Asterisk 22 recordings', () => {
  const files = rawFiles();

  it('finds every server.raw, including login-bad/*.raw', () => {
    assert.ok(files.includes(path.join('login-bad', 'monitor.server.raw')));
    assert.ok(files.includes(path.join('login-bad', 'unknown-user.server.raw')));
    assert.ok(files.length >= 9, files.join(','));
  });

  for (const file of files) {
    describe(file, () => {
      const raw = fs.readFileSync(path.join(FIXTURES, file));
      const expected = reference(raw);

      it('parses whole into the reference messages, banner apart', () => {
        const r = parseChunks([raw]);
        assert.equal(r.banner, expected.banner);
        assert.match(r.banner ?? '', /^Asterisk Call Manager\/11\.0\.0$/);
        assert.deepEqual(pairsOf(r.messages), expected.messages);
        assert.deepEqual(r.errors, []);
      });

      it('gives the same messages whatever the chunk borders (property)', () => {
        fc.assert(
          fc.property(fc.array(fc.nat({ max: raw.length }), { maxLength: 40 }), (points) => {
            const r = parseChunks(splitAt(raw, points));
            assert.deepEqual(pairsOf(r.messages), expected.messages);
            assert.equal(r.banner, expected.banner);
          }),
          { numRuns: 60 },
        );
      });

      it('gives the same messages fed one byte at a time', () => {
        const chunks: Buffer[] = [];
        for (let i = 0; i < raw.length; i++) chunks.push(raw.subarray(i, i + 1));
        assert.deepEqual(pairsOf(parseChunks(chunks).messages), expected.messages);
      });

      it('gives the same messages with bare LF line ends', () => {
        const lf = Buffer.from(raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
        const r = parseChunks(splitAt(lf, [7, 100, 1000, 5000]));
        assert.deepEqual(pairsOf(r.messages), expected.messages);
        assert.equal(r.banner, expected.banner);
      });

      const transcript = path.join(FIXTURES, file.replace('server.raw', 'transcript.jsonl'));
      it('replays transcript.jsonl with its real chunk borders', () => {
        const chunks = fs
          .readFileSync(transcript, 'utf8')
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => JSON.parse(l) as { dir: string; data: string })
          .filter((c) => c.dir === 'server' && c.data.length > 0)
          .map((c) => Buffer.from(c.data, 'latin1'));
        assert.deepEqual(Buffer.concat(chunks), raw);
        assert.deepEqual(pairsOf(parseChunks(chunks).messages), expected.messages);
      });
    });
  }

  it('is fed login-ok split at every single byte position', () => {
    const raw = fs.readFileSync(path.join(FIXTURES, 'login-ok/server.raw'));
    const expected = reference(raw).messages;
    for (let i = 0; i <= raw.length; i++) {
      assert.deepEqual(pairsOf(parseChunks([raw.subarray(0, i), raw.subarray(i)]).messages), expected, `split at ${i}`);
    }
  });

  it('handles a split at every byte position of a multi-message stretch of status-db-command', function () {
    // CPU-bound (4.6 s idle, 8.7-10.7 s beside two CPU hogs, over 20 s once): the timeout only
    // catches a hang.
    this.timeout(120_000);
    const raw = fs.readFileSync(path.join(FIXTURES, 'status-db-command/server.raw'));
    const expected = reference(raw).messages;
    // The DB answers and the first Command answers (Asterisk writes those in pieces).
    const from = raw.indexOf('Response: Success\r\nActionID: fg-8');
    const to = raw.indexOf('ActionID: fg-16');
    assert.ok(from > 0 && to > from);
    for (let i = from; i <= to; i++) {
      assert.deepEqual(pairsOf(parseChunks([raw.subarray(0, i), raw.subarray(i)]).messages), expected, `split at ${i}`);
    }
  });

  it('sees chunks that end mid-message in status-db-command (the replay test is meaningful)', () => {
    const chunks = fs
      .readFileSync(path.join(FIXTURES, 'status-db-command/transcript.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { dir: string; data: string })
      .filter((c) => c.dir === 'server' && c.data.length > 0);
    assert.ok(chunks.some((c) => !c.data.endsWith('\r\n\r\n') && !c.data.startsWith('Asterisk Call Manager')));
  });

  it('keeps repeated keys, leading spaces and empty values', () => {
    const raw = fs.readFileSync(path.join(FIXTURES, 'status-db-command/server.raw'));
    const { messages } = parseChunks([raw]);
    const status = messages.find((m) => m.event === 'Status' && m.getAll('Variable').length > 0)!;
    assert.deepEqual(status.getAll('Variable'), ['CDR(accountcode)=acct-1002', 'CHANNEL(endpoint)=1002']);
    assert.equal(status.actionId, 'fg-4');
    assert.equal(status.get('Readtrans'), '');
    const endpoints = messages.find((m) => m.actionId === 'fg-16')!;
    const output = endpoints.getAll('Output');
    assert.ok(output.length > 20);
    assert.equal(output[0], '');
    assert.ok(output[1]!.startsWith(' Endpoint:  <Endpoint/CID'), JSON.stringify(output[1]));
    const qos = messages.find((m) => m.event === 'VarSet' && m.get('Variable') === 'RTPAUDIOQOSLOSS')!;
    assert.ok(qos.get('Value')!.startsWith('  minrxlost='), JSON.stringify(qos.get('Value')));
  });

  it('decodes the dispatch fields and looks keys up case-insensitively', () => {
    const { messages } = parseChunks([fs.readFileSync(path.join(FIXTURES, 'login-ok/server.raw'))]);
    assert.equal(messages[0]!.response, 'Success');
    assert.equal(messages[0]!.actionId, 'fg-1');
    assert.equal(messages[0]!.event, null);
    assert.equal(messages[1]!.event, 'FullyBooted');
    assert.equal(messages[1]!.get('status'), 'Fully Booted');
    const pingNoId = messages.find((m) => m.get('Ping') === 'Pong' && m.actionId === null);
    assert.ok(pingNoId, 'a Ping sent without ActionID is answered without one');
  });
});

describe('AmiParser on bad input', () => {
  const good = 'Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n';

  it('drops a block without colons, reports it, and reads the next message', () => {
    const r = parseChunks([Buffer.from(`Asterisk Call Manager/11.0.0\r\n${good}\x00\xff garbage line\r\nmore\r\n\r\n${good}`, 'latin1')]);
    assert.equal(r.messages.length, 2);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!, /line without ':'.*after message #1/);
  });

  it('takes a banner-like line only as the very first line', () => {
    const r = parseChunks([Buffer.from(`${good}Asterisk Call Manager/11.0.0\r\n\r\n${good}`)]);
    assert.equal(r.banner, null);
    assert.equal(r.messages.length, 2);
    assert.equal(r.errors.length, 1);
  });

  it('drops an oversized message, reports it, resyncs at the blank line', () => {
    const big = `Event: Big\r\n${'Output: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'.repeat(100)}\r\n`;
    const r = parseChunks(splitAt(Buffer.from(`${good}${big}${good}`), [10, 300, 2000, 4000]), { maxMessageBytes: 1024 });
    assert.deepEqual(r.messages.map((m) => m.event), ['FullyBooted', 'FullyBooted']);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!, /message over 1024 bytes/);
  });

  it('drops a truncated message cut by garbage without losing what follows', () => {
    const truncated = 'Event: Newchannel\r\nChannel: PJSIP/1001-0000';
    const r = parseChunks([Buffer.from(`${good}${truncated}\r\n\x01\x02\r\n\r\n${good}`, 'latin1')]);
    assert.equal(r.messages.length, 2);
    assert.equal(r.errors.length, 1);
  });

  it('stays bounded on 50 MB without a line end, then reads the next message', () => {
    const errors: string[] = [];
    const p = new AmiParser({ maxMessageBytes: 1024 * 1024, maxLineBytes: 64 * 1024, onError: (_c, d) => errors.push(d) });
    const junk = Buffer.alloc(64 * 1024, 0x41);
    let maxBuffered = 0;
    let maxRetained = 0;
    const got: AmiMessage[] = [];
    for (let sent = 0; sent < 50 * 1024 * 1024; sent += junk.length) {
      p.parse(junk, (m) => got.push(m));
      maxBuffered = Math.max(maxBuffered, p.bufferedBytes());
      maxRetained = Math.max(maxRetained, p.retainedBytes());
    }
    p.parse(Buffer.from(`\r\n\r\n${good}`), (m) => got.push(m));
    assert.ok(maxBuffered <= 64 * 1024, `buffered ${maxBuffered}`);
    assert.ok(maxRetained <= 256 * 1024, `retained ${maxRetained}`);
    assert.equal(errors.length, 1);
    assert.deepEqual(got.map((m) => m.event), ['FullyBooted']);
  });

  it('stays bounded on 50 MB of header lines without a blank line', () => {
    const errors: string[] = [];
    const p = new AmiParser({ maxMessageBytes: 1024 * 1024, onError: (_c, d) => errors.push(d) });
    const lines = Buffer.from('Variable: x=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n'.repeat(1024));
    const got: AmiMessage[] = [];
    for (let sent = 0; sent < 50 * 1024 * 1024; sent += lines.length) p.parse(lines, (m) => got.push(m));
    p.parse(Buffer.from(`\r\n${good}`), (m) => got.push(m));
    assert.equal(errors.length, 1);
    assert.deepEqual(got.map((m) => m.event), ['FullyBooted']);
  });

  it('passes over skipped events without delivering them', () => {
    const raw = fs.readFileSync(path.join(FIXTURES, 'outbound-call/server.raw'));
    const all = parseChunks([raw]).messages;
    const some = parseChunks(splitAt(raw, [5000, 5001, 30000]), { skipEvents: new Set(['VarSet', 'CEL']) }).messages;
    assert.equal(some.length, all.filter((m) => m.event !== 'VarSet' && m.event !== 'CEL').length);
    assert.ok(some.every((m) => m.event !== 'VarSet'));
  });

  it('decodes UTF-8 split between chunks and never writes into the caller’s buffers', () => {
    const raw = Buffer.from('Event: Newchannel\r\nCallerIDName: Zoë Ünal\r\n\r\n', 'utf8');
    const copy = Buffer.from(raw);
    const at = raw.indexOf(0xc3) + 1;
    const r = parseChunks([raw.subarray(0, at), raw.subarray(at, at + 3), raw.subarray(at + 3)]);
    assert.equal(r.messages[0]!.get('CallerIDName'), 'Zoë Ünal');
    assert.deepEqual(raw, copy);
  });

  it('keeps no reference to a chunk once it is consumed', () => {
    const p = new AmiParser();
    p.parse(Buffer.from(`${good}${good}`), () => undefined);
    assert.equal(p.retainedBytes(), 0);
    p.parse(Buffer.from('Event: Half'), () => undefined);
    assert.ok(p.bufferedBytes() > 0);
    p.parse(Buffer.from('\r\n\r\n'), () => undefined);
    assert.equal(p.bufferedBytes(), 0);
    assert.equal(p.retainedBytes(), 0);
  });
});
