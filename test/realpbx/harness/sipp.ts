import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { sippScenario } from './lab.js';
import { exited, killHard, run } from './proc.js';

/** A SIP message as SIPp's -trace_msg file shows it. */
export interface TracedMessage {
  dir: 'sent' | 'received';
  /** First line: `INVITE sip:011...@127.0.0.1:5070 SIP/2.0`, `SIP/2.0 200 OK`. */
  line: string;
  text: string;
}

/** One SIPp process in the lab's namespace, with its message trace. */
export class Sipp {
  readonly done: Promise<number | null>;
  private output = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly traceFile: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    this.done = exited(child);
  }

  /** The messages SIPp sent and received so far, in order. */
  messages(): TracedMessage[] {
    let text: string;
    try {
      text = fs.readFileSync(this.traceFile, 'latin1');
    } catch {
      return [];
    }
    const out: TracedMessage[] = [];
    const re = /^-{10,}[^\n]*\n(?:UDP|TCP) message (sent|received)[^\n]*\n\n/gm;
    const heads = [...text.matchAll(re)];
    heads.forEach((m, i) => {
      const start = m.index + m[0].length;
      const end = heads[i + 1]?.index ?? text.length;
      const body = text.slice(start, end).replace(/\r/g, '');
      out.push({ dir: m[1] === 'sent' ? 'sent' : 'received', line: body.split('\n')[0] ?? '', text: body });
    });
    return out;
  }

  /** Request-URI users of the INVITEs it received (a carrier: the numbers the PBX sent out). */
  invitesReceived(): string[] {
    return this.messages()
      .filter((m) => m.dir === 'received' && m.line.startsWith('INVITE '))
      .map((m) => /^INVITE sip:([^@;> ]+)/.exec(m.line)?.[1] ?? m.line);
  }


  /** What SIPp printed last (for a failing test's message). */
  tail(): string {
    return this.output;
  }

  async kill(): Promise<void> {
    await killHard(this.child);
  }
}

export interface PhoneCreds {
  user: string;
  password: string;
}

/**
 * Every SIPp of one network namespace: it hands out SIP, media and control ports, writes the
 * one-line CSVs the kit's phone scenarios read, and kills whatever still runs at cleanup.
 */
export class SippLab {
  private next = 0;
  private readonly all: Sipp[] = [];
  private readonly lines: string[] = [];

  constructor(
    readonly ns: string,
    readonly dir: string,
    /** The PBX's SIP address for phones, e.g. 127.0.0.1:5060. */
    readonly pbxAddress: string,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** Resolves once `sipp` has bound `port` in the namespace (UDP for SIP, TCP for the 3PCC twin). */
  async bound(sipp: Sipp, port: number, proto: 'udp' | 'tcp' = 'udp'): Promise<Sipp> {
    const flag = proto === 'udp' ? '-Hlun' : '-Hltn';
    await waitFor(`${sipp.name} to listen on ${proto} ${port}`, async () => {
      if (sipp.child.exitCode !== null) throw new Error(`${sipp.name} exited (${sipp.child.exitCode}): ${sipp.tail()}`);
      return (await run('ip', ['netns', 'exec', this.ns, 'ss', flag, `sport = :${port}`])).stdout.trim() !== '';
    }, 10_000, 20);
    return sipp;
  }

  /** A free SIP port for a phone or a client (the carriers' ports are fixed by the lab). */
  port(): number {
    return 5200 + 2 * this.next++;
  }

  private csv(fields: string[]): string {
    const file = path.join(this.dir, `in-${this.next++}-${Date.now()}.csv`);
    fs.writeFileSync(file, `SEQUENTIAL\n${fields.join(';')}\n`);
    return file;
  }

  /** Starts SIPp with `args` (plus ports and tracing) in the namespace. */
  spawn(name: string, scenario: string, sipPort: number, args: string[], address = '127.0.0.1'): Sipp {
    const n = this.next++;
    const trace = path.join(this.dir, `${name}-${n}.msg`);
    const argv = [
      'netns', 'exec', this.ns, 'sipp', '-sf', sippScenario(scenario), '-i', address, '-p', String(sipPort),
      '-mp', String(40000 + 4 * n), '-cp', String(9000 + n), '-nostdin', '-trace_msg', '-message_file', trace,
      '-trace_err', '-error_file', path.join(this.dir, `${name}-${n}.err`), ...args,
    ];
    this.lines.push(this.describe(['sipp', '-sf', scenario, '-i', address, '-p', String(sipPort), ...argv.slice(10, 14), '-nostdin', ...args]));
    const child = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const s = new Sipp(name, child, trace);
    this.all.push(s);
    return s;
  }

  /** A command line as a README shows it: the CSV's line instead of its temp path. */
  private describe(argv: string[]): string {
    return argv
      .map((a) => (a.endsWith('.csv') && fs.existsSync(a) ? `${path.basename(a)}(${JSON.stringify(fs.readFileSync(a, 'utf8').split('\n')[1])})` : /[\s;[\]]/.test(a) ? `'${a}'` : a))
      .join(' ');
  }

  /** Every SIPp command line started so far (in the kit's sipp folder, traces left out). */
  commands(): string[] {
    return [...this.lines];
  }

  private auth(p: PhoneCreds): string {
    return `[authentication username=${p.user} password=${p.password}]`;
  }

  /** REGISTERs `phone` with its Contact on `port`; resolves when the PBX accepted it. */
  async register(phone: PhoneCreds, port: number): Promise<void> {
    const s = this.registration(phone, port);
    const code = await s.done;
    if (code !== 0) throw new Error(`REGISTER ${phone.user} failed (sipp ${code}): ${s.tail()}`);
  }

  /** One REGISTER of `phone` (password as given, right or wrong) from `address`; `done` is 0 when the PBX accepted it. */
  registration(phone: PhoneCreds, port: number, address = '127.0.0.1'): Sipp {
    return this.spawn(`register-${phone.user}`, 'register.xml', port, ['-inf', this.csv([phone.user, this.auth(phone), '600', 'sipp-phone']), '-m', '1', '-timeout', '20s', this.pbxAddress], address);
  }

  /** A registered phone that answers one call at once and waits for the BYE (uas-answer); resolves once it listens. */
  answeringPhone(name: string, port: number): Promise<Sipp> {
    return this.bound(this.spawn(`phone-${name}`, 'uas-answer.xml', port, ['-m', '1', '-timeout', '120s']), port);
  }

  /**
   * A phone's call: `uac-call` talks `talkMs` then hangs up itself; `uac-wait-bye` waits for
   * the far end's BYE; `uac-refer` REFERs the far end to `target` 1.5 s after answer.
   */
  call(phone: PhoneCreds, dialed: string, o: { scenario?: 'uac-call.xml' | 'uac-wait-bye.xml' | 'uac-refer.xml'; talkMs?: number; target?: string; port?: number } = {}): Sipp {
    const scenario = o.scenario ?? 'uac-wait-bye.xml';
    const field3 = scenario === 'uac-refer.xml' ? (o.target ?? '') : 'sipp-phone';
    const args = ['-inf', this.csv([phone.user, this.auth(phone), dialed, field3]), '-m', '1', '-timeout', '120s'];
    if (o.talkMs !== undefined) args.push('-d', String(o.talkMs));
    args.push(this.pbxAddress);
    return this.spawn(`call-${phone.user}-${dialed}`, scenario, o.port ?? this.port(), args);
  }

  /**
   * An attended transfer by two SIPp twins (3PCC) of one phone: the consultation call to
   * `consultNumber` is placed and answered first; it hands its dialog to the transferer twin,
   * which then calls `dialed`, and 1.5 s after that answer REFERs it to `consultNumber` with
   * `Replaces` = the consultation dialog.
   */
  async attendedTransfer(phone: PhoneCreds, dialed: string, consultNumber: string): Promise<{ transferer: Sipp; consult: Sipp }> {
    const twinPort = 20000 + this.next++;
    const twin = `127.0.0.1:${twinPort}`;
    const transferer = await this.bound(this.spawn(`atxfer-${phone.user}-${dialed}`, 'uac-atxfer-transferer.xml', this.port(), ['-3pcc', twin, '-inf', this.csv([phone.user, this.auth(phone), dialed, consultNumber]), '-m', '1', '-timeout', '120s', this.pbxAddress]), twinPort, 'tcp');
    const consult = this.spawn(`consult-${phone.user}-${consultNumber}`, 'uac-atxfer-consult.xml', this.port(), ['-cid_str', 'atx-%u-%p', '-3pcc', twin, '-inf', this.csv([phone.user, this.auth(phone), consultNumber, 'sipp-phone']), '-m', '1', '-timeout', '120s', this.pbxAddress]);
    return { transferer, consult };
  }

  /**
   * The carrier on `port`: rings `ringMs` then answers (a CANCEL while ringing gets 487),
   * answers at once (`ringMs` 0 is uas-answer) or refuses with 503; `calls` INVITEs at most.
   * Resolves once it listens (an INVITE sent before would get an ICMP error, not a carrier).
   */
  carrier(port: number, o: { ringMs?: number; refuse?: boolean; calls?: number } = {}): Promise<Sipp> {
    const m = ['-m', String(o.calls ?? 1), '-timeout', '300s'];
    let s: Sipp;
    if (o.refuse) s = this.spawn(`carrier-${port}-refuse`, 'uas-refuse.xml', port, m);
    else if (!o.ringMs) s = this.spawn(`carrier-${port}-answer`, 'uas-answer.xml', port, m);
    else s = this.spawn(`carrier-${port}-ring`, 'uas-ring.xml', port, ['-set', 'ringms', String(o.ringMs), ...m]);
    return this.bound(s, port);
  }

  /**
   * An inbound call from the carrier to `did` (Asterisk: from 127.0.0.9 to :5060; FreeSWITCH:
   * to :5082), talking `talkMs` then hanging up; `fromUser` is the SIP From user it claims.
   */
  inbound(did: string, o: { to: string; address?: string; talkMs: number; fromUser?: string }): Sipp {
    return this.spawn(`inbound-${did}`, 'uac-carrier-from.xml', this.port(), ['-s', did, '-key', 'fromuser', o.fromUser ?? '+14155550123', '-d', String(o.talkMs), '-m', '1', '-timeout', '120s', o.to], o.address ?? '127.0.0.1');
  }

  /**
   * A one-ring bait from the carrier to `did`: it rings, `ringMs` later the caller CANCELs
   * (uac-carrier-onering); `fromUser` is the number it calls from.
   */
  oneRing(did: string, o: { to: string; address?: string; ringMs: number; fromUser: string }): Sipp {
    return this.spawn(`onering-${did}`, 'uac-carrier-onering.xml', this.port(), ['-s', did, '-key', 'fromuser', o.fromUser, '-d', String(o.ringMs), '-m', '1', '-timeout', '60s', o.to], o.address ?? '127.0.0.1');
  }

  /** A registered phone that rings `ringMs` before it answers (a CANCEL meanwhile gets 487); resolves once it listens. */
  ringingPhone(name: string, port: number, ringMs: number): Promise<Sipp> {
    return this.bound(this.spawn(`phone-${name}-ring`, 'uas-ring.xml', port, ['-set', 'ringms', String(ringMs), '-m', '1', '-timeout', '120s']), port);
  }

  /**
   * Lets every SIPp finish its dialogs (a carrier answers the BYE or the CANCEL the PBX sends
   * when its calls are hung up) for up to `graceMs`, then kills what still runs. A carrier
   * killed first leaves the PBX retransmitting a BYE for 32 s, into the next test's carrier
   * on the same port, which takes it as a failed call and exits.
   */
  async killAll(graceMs = 0): Promise<void> {
    if (graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.all.map((s) => s.done)), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    await Promise.all(this.all.map((s) => s.kill()));
    this.all.length = 0;
  }
}
