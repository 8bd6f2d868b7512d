/**
 * The simulated Asterisk and FreeSWITCH of bench/precall.ts, in a process of their own (forked,
 * with an IPC channel) so that building their frames does not delay the timing of the
 * pre-call clients. Messages: `ami`
 * / `esl` place an allowed call (answered at once, hung up after 1.5 s) and answer with the
 * channel that will ask; `cuts` places forbidden calls at a steady rate and answers with the
 * cut latencies seen (dial to Hangup / uuid_kill received).
 */
import { AmiSimServer } from '../lib/sim/ami-server.js';
import { EslSimServer } from '../lib/sim/esl-server.js';

const ami = await AmiSimServer.start({ username: 'tollguard', secret: process.env.BENCH_AMI_SECRET! });
const esl = await EslSimServer.start({ password: process.env.BENCH_ESL_PASSWORD! });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type Request = { id: number; kind: 'ami' | 'esl' | 'cuts' | 'close'; seconds?: number; perSec?: number };
const port = {
  postMessage: (m: unknown): void => void process.send!(m),
  on: (_: 'message', fn: (m: Request) => void): void => void process.on('message', (m) => fn(m as Request)),
  close: (): void => process.disconnect(),
};

async function forbidden(seconds: number, perSec: number): Promise<number[]> {
  const cut: number[] = [];
  const waits: Promise<void>[] = [];
  for (let i = 0; i < seconds * perSec; i++) {
    await sleep(1000 / perSec);
    if (i % 2 === 0) {
      const c = ami.call({ endpoint: '1001', account: 'acct-1001', dialed: '0115378612345', answerAfterMs: null, hangupAfterMs: 5000 });
      waits.push(c.ended.then(() => {
        if (c.endedBy === 'action' && c.endedAt !== null) cut.push(c.endedAt - c.startedAt);
      }));
    } else {
      const started = Date.now();
      const c = esl.call({ user: '1002', account: 'acct-1002', dialed: '0115378612345', answerAfterMs: null, hangupAfterMs: 5000 });
      waits.push((async () => {
        const end = Date.now() + 5000;
        while (c.endedAt === null && Date.now() < end) await sleep(2);
        if (c.cause !== 'NORMAL_CLEARING' && c.endedAt !== null) cut.push(c.endedAt - started);
      })());
    }
  }
  await Promise.all(waits);
  return cut;
}

port.on('message', (m) => {
  void (async () => {
    switch (m.kind) {
      case 'ami': {
        const c = ami.call({ endpoint: '1003', account: 'acct-1003', dialed: '011442079460000', answerAfterMs: 0, hangupAfterMs: 1500 });
        port.postMessage({ id: m.id, uniqueid: c.callId, channel: c.channel });
        return;
      }
      case 'esl': {
        const c = esl.call({ user: '1004', account: 'acct-1004', dialed: '011442079460000', answerAfterMs: 0, hangupAfterMs: 1500 });
        port.postMessage({ id: m.id, uuid: c.aUuid });
        return;
      }
      case 'cuts':
        port.postMessage({ id: m.id, cuts: await forbidden(m.seconds!, m.perSec!) });
        return;
      case 'close':
        await ami.close();
        await esl.close();
        port.postMessage({ id: m.id });
        port.close();
    }
  })();
});
port.postMessage({ id: 0, ami: ami.port, esl: esl.port });
