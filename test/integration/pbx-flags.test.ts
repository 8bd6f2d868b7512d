import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { systemClock } from '../../lib/clock.js';
import type { LinkTiming } from '../../lib/config/types.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { PbxAdapter } from '../../lib/pbx/adapter.js';
import { AsteriskAdapter } from '../../lib/pbx/asterisk/adapter.js';
import { FreeswitchAdapter } from '../../lib/pbx/freeswitch/adapter.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { EslParser, type EslFrame } from '../../lib/pbx/freeswitch/parser.js';
import { ESL_FIXTURES, parseAll, serverChunks } from '../helpers/esl-fixtures.js';
import { waitFor } from '../helpers/wait.js';

const timing: LinkTiming = {
  connectTimeoutMs: 1000, actionTimeoutMs: 1000, keepaliveIntervalMs: 500, keepaliveTimeoutMs: 500,
  backoffInitialMs: 50, backoffMaxMs: 400, maxFrameBytes: 8 * 1024 * 1024,
};

/** listFlags against both embedded PBXs over TCP: what setFlag wrote, by the same keys. */
describe('PbxAdapter.listFlags (both PBXs)', function () {
  this.timeout(15_000);
  let ami: AmiSimServer;
  let esl: EslSimServer;
  let adapters: PbxAdapter[];

  beforeEach(async () => {
    ami = await AmiSimServer.start({ username: 'u', secret: 's' });
    esl = await EslSimServer.start({ password: 'p' });
    const log = new MemoryLogger();
    adapters = [
      new AsteriskAdapter({ name: 'office', type: 'asterisk', host: ami.host, port: ami.port, username: 'u', secret: 's', trunks: [{ name: 'trunk-uas', stripPrefix: null }], trunkAddresses: [], dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate' }, timing, { clock: systemClock, log }),
      new FreeswitchAdapter({ name: 'branch', type: 'freeswitch', host: esl.host, port: esl.port, password: 'p', trunks: [{ name: 'uas', stripPrefix: null }], trunkAddresses: [], eventFormat: 'json', dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate' }, timing, { clock: systemClock, log }),
    ];
    for (const a of adapters) a.start();
    await waitFor('both ready', () => adapters.every((a) => a.status() === 'ready'), 5000);
  });
  afterEach(async () => {
    for (const a of adapters) await a.stop();
    await ami.close();
    await esl.close();
  });

  it('an empty family lists nothing', async () => {
    for (const a of adapters) {
      const r = await a.listFlags('tollguard');
      assert.ok(r.ok);
      assert.equal(r.value.size, 0, a.name);
    }
  });

  it('lists what was written, by the keys setFlag takes, and forgets what was deleted', async () => {
    for (const a of adapters) {
      assert.ok((await a.setFlag('tollguard', 'suspended/acct-1001', 'MANUAL')).ok);
      assert.ok((await a.setFlag('tollguard', 'blocked/881', 'destinations.deny[0]=+881')).ok);
      assert.ok((await a.setFlag('tollguard', 'international/*', 'off')).ok);
      assert.ok((await a.setFlag('other', 'blocked/53', 'x')).ok);
      assert.ok((await a.setFlag('tollguard', 'blocked/881', null)).ok);
      const r = await a.listFlags('tollguard');
      assert.ok(r.ok);
      assert.deepEqual(new Map([...r.value].sort()), new Map([['international/*', 'off'], ['suspended/acct-1001', 'MANUAL']]), a.name);
    }
  });

  it('FreeSWITCH: hundreds of keys listed from the realm itself (db list), also after a reconnect', async () => {
    const fs = adapters[1]!;
    const keys = Array.from({ length: 300 }, (_, i) => `zone/1${String(200 + i)}`);
    await Promise.all(keys.map((k) => fs.setFlag('tollguard', k, 'abroad')));
    let r = await fs.listFlags('tollguard');
    assert.ok(r.ok);
    assert.equal(r.value.size, 300);
    await Promise.all(keys.slice(10).map((k) => fs.setFlag('tollguard', k, null)));
    let reconnected = false;
    fs.onStatus((s) => {
      if (s === 'authenticating') reconnected = true;
    });
    esl.dropAllConnections();
    await waitFor('ready again', () => reconnected && fs.status() === 'ready', 5000);
    r = await fs.listFlags('tollguard');
    assert.ok(r.ok);
    assert.deepEqual([...r.value.keys()].sort(), keys.slice(0, 10).sort());
  });

  it('FreeSWITCH: the simulator answers the db commands tollguard sends as the real 1.10.12 did (api-trunks-db: keys comma-separated, -ERR no reply for an empty realm)', async () => {
    const recorded = recordedDbAnswers();
    assert.ok(recorded.some(([c]) => c === 'db list/tollguard'), 'the recording lists the realm');
    const client = await rawEsl(esl.port, 'p');
    try {
      for (const [command, answer] of recorded) assert.equal(await client.api(command), answer, command);
    } finally {
      client.close();
    }
  });
});

/** The recording's `api db ...` commands of the shapes the adapter sends (insert, delete, select of a key, list of a realm) and the bodies the real switch answered. */
function recordedDbAnswers(): [string, string][] {
  const lines = fs.readFileSync(path.join(ESL_FIXTURES, 'api-trunks-db', 'transcript.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const commands = lines.map((l) => JSON.parse(l) as { dir: string; data: string }).filter((r) => r.dir === 'client' && r.data.startsWith('api ')).map((r) => r.data.slice(4).trim());
  const answers = parseAll(serverChunks('api-trunks-db')).filter((f) => f.type === 'api/response').map((f) => f.body?.toString('latin1') ?? '');
  assert.equal(answers.length, commands.length, 'one api/response per api command');
  const shapes = /^db (?:(?:insert|delete|select)\/[^/]+\/[^/]+(?:\/[^/]+)?|list\/[^/]+)$/;
  return commands.map((c, i): [string, string] => [c, answers[i]!]).filter(([c]) => shapes.test(c));
}

/** A bare ESL connection (no adapter) that sends api commands and gives back the bodies. */
async function rawEsl(port: number, password: string): Promise<{ api: (cmd: string) => Promise<string>; close: () => void }> {
  const socket = net.connect(port, '127.0.0.1');
  const waiting: ((f: EslFrame) => void)[] = [];
  const parser = new EslParser({ onError: (e) => socket.destroy(e) });
  socket.on('data', (d: Buffer) => parser.parse(d, (f) => waiting.shift()?.(f)));
  const next = (): Promise<EslFrame> => new Promise((r) => waiting.push(r));
  await next();
  socket.write(`auth ${password}\n\n`);
  assert.match((await next()).header('Reply-Text') ?? '', /^\+OK/);
  return {
    api: async (cmd) => {
      socket.write(`api ${cmd}\n\n`);
      return (await next()).body?.toString('latin1') ?? '';
    },
    close: () => socket.destroy(),
  };
}
