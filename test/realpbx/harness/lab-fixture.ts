import assert from 'node:assert/strict';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { AmiConnection } from './ami.js';
import { LAB_SECRETS, Tollguard, tollguardYaml, type PbxConfigOptions, type StartOptions } from './daemon.js';
import { EslConnection } from './esl.js';
import { LabSession } from './lab-session.js';
import { AsteriskLegs, FreeswitchLegs, type Leg, type LegView } from './legs.js';
import type { PbxKind } from './pbx.js';
import type { PhoneCreds, Sipp } from './sipp.js';

export const PHONES: Record<PbxKind, Record<string, PhoneCreds>> = {
  asterisk: {
    '1001': { user: '1001', password: 's3cret1001' },
    '1002': { user: '1002', password: 's3cret1002' },
    '1003': { user: '1003', password: 's3cret1003' },
  },
  freeswitch: {
    '1001': { user: '1001', password: 'secret1001' },
    '1002': { user: '1002', password: 'secret1002' },
    '1003': { user: '1003', password: 'secret1003' },
  },
};

/**
 * One real PBX shared by the tests of a describe block (mocha hooks registered by
 * `useRealPbx`): the lab session, an observer connection (AMI `admin` read=all, or ESL `event
 * json ALL`) that also drives the PBX (Redirect, Originate, uuid_transfer, ...), the legs it
 * saw, registered phones, and at most one tollguard. After each test every call is hung up
 * and the test's SIPp processes are killed; after the block everything is removed.
 */
export class RealPbxLab {
  s!: LabSession;
  ami: AmiConnection | null = null;
  esl: EslConnection | null = null;
  view!: LegView;
  tg: Tollguard | null = null;
  /** SIP port each registered phone's Contact points at. */
  readonly contacts = new Map<string, number>();
  private daemons = 0;
  private tgKey = '';
  private tgFailure: Error | null = null;

  constructor(
    readonly kind: PbxKind,
    private readonly opts: { edit?: (confDir: string) => void; register?: string[] },
  ) {}

  async open(): Promise<void> {
    this.s = await LabSession.open(this.kind, this.opts.edit);
    if (this.kind === 'asterisk') {
      const ami = await AmiConnection.open(this.s.ns, 'admin', 'admin-ami-secret', 'judge');
      this.s.onClose(() => ami.link.kill());
      this.ami = ami;
      this.view = new AsteriskLegs(ami);
    } else {
      const esl = await EslConnection.open(this.s.ns, LAB_SECRETS.TG_ESL_PASSWORD, 'json ALL');
      this.s.onClose(() => esl.link.kill());
      this.esl = esl;
      this.view = new FreeswitchLegs(esl);
    }
    for (const user of this.opts.register ?? []) {
      const port = this.s.sipp.port();
      await this.s.sipp.register(this.phone(user), port);
      this.contacts.set(user, port);
    }
  }

  phone(user: string): PhoneCreds {
    const p = PHONES[this.kind][user];
    if (!p) throw new Error(`no lab phone ${user}`);
    return p;
  }

  get sipp(): LabSession['sipp'] {
    return this.s.sipp;
  }

  /** The registered phone `user` answers the next call at once (and waits for the BYE). */
  answer(user: string): Promise<Sipp> {
    const port = this.contacts.get(user);
    if (port === undefined) throw new Error(`phone ${user} is not registered in this lab`);
    return this.sipp.answeringPhone(user, port);
  }

  /** The carrier: port 5070 (Asterisk) / 5090 (FreeSWITCH gateway uas) unless given. */
  carrier(o: { ringMs?: number; refuse?: boolean; calls?: number; port?: number } = {}): Promise<Sipp> {
    return this.sipp.carrier(o.port ?? (this.kind === 'asterisk' ? 5070 : 5090), o);
  }

  /**
   * Tollguard with this lab's PBX and config `o`: the one already running when it has the
   * same config, else a fresh one (new state directory). Called at the start of each test, so
   * a config tollguard refuses fails each test that needs it, with tollguard's own message.
   * `start.fresh` always starts a new one (a test that needs fresh state: an unspent budget).
   */
  async tollguard(o: Omit<PbxConfigOptions, 'kind'>, start: StartOptions & { fresh?: boolean } = {}): Promise<Tollguard> {
    const key = JSON.stringify([o, start.rates ?? '']);
    if (!start.fresh && this.tg && this.tgKey === key) return this.tg;
    if (!start.fresh && this.tgFailure && this.tgKey === key) throw this.tgFailure;
    await this.stopTollguard();
    this.tgKey = key;
    this.tgFailure = null;
    const dir = path.join(this.s.dir, `tollguard-${++this.daemons}`);
    try {
      this.tg = await Tollguard.start(this.s.ns, dir, tollguardYaml(dir, { kind: this.kind, ...o }), LAB_SECRETS, start);
    } catch (e) {
      this.tgFailure = e as Error;
      throw e;
    }
    return this.tg;
  }

  async stopTollguard(): Promise<void> {
    await this.tg?.stop();
    this.tg = null;
    this.tgKey = '';
  }

  /** kill -9 of the running tollguard (a crash); the next `tollguard()` starts a new one. */
  async killTollguard(): Promise<void> {
    await this.tg?.kill9();
    this.tg = null;
    this.tgKey = '';
  }

  legs(since = 0): Leg[] {
    return this.view.legs().filter((l) => l.createdAt >= since);
  }

  /** The first outbound trunk leg created at or after `since` (dialling `dialed`, through `trunk`, when given). */
  async trunkLeg(since: number, dialed?: string, trunk?: string, ms = 20_000): Promise<Leg> {
    return waitFor(`a trunk leg${dialed ? ` to ${dialed}` : ''}${trunk ? ` via ${trunk}` : ''}${this.why()}`, () =>
      this.legs(since).find((l) => l.direction === 'out' && l.trunk !== null && (dialed === undefined || l.dialed === dialed) && (trunk === undefined || l.trunk === trunk)), ms, 20);
  }

  /** The phone's own leg (the caller's A-leg) created at or after `since`. */
  async phoneLeg(since: number, user: string, ms = 20_000): Promise<Leg> {
    return waitFor(`the leg of phone ${user}${this.why()}`, () => this.legs(since).find((l) => l.direction === 'in' && l.name.includes(`/${user}`)), ms, 20);
  }

  /** Hangs up every channel and waits until the observer saw all of them end. */
  async hangupAll(): Promise<void> {
    if (this.kind === 'asterisk') await this.s.pbx.cli('channel request hangup all');
    else await this.esl!.api('hupall NORMAL_CLEARING');
    await waitFor('every leg to end', () => this.view.legs().every((l) => l.hungupAt !== null), 15_000, 50);
  }

  /** Context for a failing assertion: the legs seen and tollguard's last lines. */
  why(): string {
    const legs = this.view.legs().slice(-8).map((l) => `  ${l.name} dialed=${l.dialed} trunk=${l.trunk} acct=${l.account} created=${l.createdAt} answered=${l.answeredAt} hungup=${l.hungupAt} ${l.cause ?? ''}`);
    return `\n--- legs seen by the PBX observer (last 8):\n${legs.join('\n')}\n--- tollguard (for context only):\n${this.tg?.tail(2500) ?? '(not running)'}`;
  }

  async afterEach(): Promise<void> {
    await this.hangupAll().catch(() => undefined);
    await this.sipp.killAll(3000);
  }

  async close(): Promise<void> {
    await this.stopTollguard().catch(() => undefined);
    await this.s?.close();
  }
}

/** Registers the hooks of one shared real PBX in the current describe block. */
export function useRealPbx(kind: PbxKind, opts: { edit?: (confDir: string) => void; register?: string[] } = {}): RealPbxLab {
  const lab = new RealPbxLab(kind, opts);
  before(async function () {
    this.timeout(120_000);
    await lab.open();
  });
  afterEach(async function () {
    this.timeout(60_000);
    await lab.afterEach();
  });
  after(async function () {
    this.timeout(60_000);
    await lab.close();
  });
  return lab;
}

/**
 * The forbidden leg was cut by someone other than the parties: it ended without an answer
 * within 2 s of its creation (its dial), while the carrier rang longer than that and the
 * phone waits for the far end.
 */
export async function assertCutBeforeAnswer(lab: RealPbxLab, leg: Leg, ms = 2000): Promise<void> {
  // A little past the bound, for the hangup event to reach the observer.
  await waitFor('the cut window', () => leg.hungupAt !== null || Date.now() > leg.createdAt + ms + 500, ms + 10_000, 20);
  const at = (t: number | null): string => (t === null ? `not within ${ms + 500} ms` : `${Math.round(t - leg.createdAt)} ms after its dial`);
  assert.ok(
    leg.hungupAt !== null && leg.hungupAt - leg.createdAt <= ms && (leg.answeredAt === null || leg.answeredAt > leg.hungupAt),
    `the leg to ${leg.dialed} was not cut within ${ms} ms of its dial, before answer: hung up ${at(leg.hungupAt)}, answered ${at(leg.answeredAt)}${lab.why()}`,
  );
  assert.equal(leg.answeredAt, null, `the leg to ${leg.dialed} was answered ${at(leg.answeredAt)}${lab.why()}`);
}

/**
 * Every trunk leg to `dialed` since `since` (a failover bridge tries one carrier after the
 * other) was cut before answer: the phone's call ends or `settleMs` pass (a carrier rings
 * 4 s, so an uncut call would be answered by then), then no such leg was answered and each
 * ended within `ms` of its own dial.
 */
export async function assertEveryLegCut(lab: RealPbxLab, since: number, dialed: string, caller: Leg, ms = 2000, settleMs = 7000): Promise<void> {
  await waitFor('the call to end or settle', () => caller.hungupAt !== null || Date.now() > since + settleMs, settleMs + 5000, 20);
  await new Promise((r) => setTimeout(r, 500));
  const legs = lab.legs(since).filter((l) => l.direction === 'out' && l.trunk !== null && l.dialed === dialed);
  assert.ok(legs.length > 0, `no trunk leg to ${dialed}${lab.why()}`);
  for (const l of legs) {
    assert.equal(l.answeredAt, null, `the leg to ${dialed} via ${l.trunk} was answered${lab.why()}`);
    assert.ok(l.hungupAt !== null && l.hungupAt - l.createdAt <= ms, `the leg to ${dialed} via ${l.trunk} did not end within ${ms} ms of its dial${lab.why()}`);
  }
}

/** An allowed leg is left alone: answered, and still up `holdMs` after the answer. */
export async function assertUntouched(lab: RealPbxLab, leg: Leg, holdMs = 3000): Promise<void> {
  await waitFor(`the leg to ${leg.dialed} to be answered${lab.why()}`, () => leg.answeredAt ?? leg.hungupAt, 15_000, 20);
  assert.ok(leg.answeredAt !== null, `the leg to ${leg.dialed} ended unanswered (${leg.cause})${lab.why()}`);
  const until = leg.answeredAt + holdMs;
  await waitFor('the hold time', () => leg.hungupAt !== null || Date.now() >= until, holdMs + 5000, 20);
  assert.equal(leg.hungupAt, null, `the leg to ${leg.dialed} was hung up ${leg.hungupAt! - leg.answeredAt} ms after its answer (${leg.cause})${lab.why()}`);
}
