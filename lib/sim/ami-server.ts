import net from 'node:net';
import { formatFrame, type AmiMessage } from '../pbx/asterisk/message.js';
import { AmiParser } from '../pbx/asterisk/parser.js';
import { outputTotals, tickEvery, WatchedSocket, type OutputTotals, type SlowReaderDrop, type SlowReaderPolicy } from './slow-reader.js';

/**
 * An embedded stand-in for Asterisk's AMI (Asterisk 22, AMI 11.0.0) for tests, the demo and
 * benchmarks. Every frame it writes has the shape and header order of the recordings in
 * test/fixtures/asterisk (outbound-call, hangup-action, register-bruteforce, login-bad,
 * status-db-command); it invents no event or field.
 */

type Pairs = [string, string | number][];

export interface AmiSimServerOptions {
  host?: string;
  /** 0 (default) = any free port; read it back from `port`. */
  port?: number;
  username?: string;
  secret?: string;
  /** Asterisk answers a failed login after about 1 s; tests set it shorter. */
  authFailDelayMs?: number;
  /** PJSIP endpoints PJSIPShowEndpoints lists (default 1001, 1002, 1003, trunk-uas). */
  endpoints?: string[];
  /**
   * manager.conf `writetimeout`: a session whose socket takes no byte for this long is
   * closed, as Asterisk does (its default is 100 ms; the lab's manager.conf says 5,000).
   * null (default): never, so that a test's own pauses do not drop its client.
   */
  writeTimeoutMs?: number | null;
}

export interface RecordedAction {
  /** Date.now() when the action arrived. */
  at: number;
  /** Connection number (1, 2, ...). */
  session: number;
  /** The Action header (as sent). */
  name: string;
  actionId: string | null;
  fields: [string, string][];
  get(key: string): string | undefined;
}

export interface SimCallOptions {
  /** Calling endpoint, e.g. `1001` (channel `PJSIP/1001-0000000a`). */
  endpoint: string;
  /** AccountCode of the caller's endpoint; '' (default) = none. */
  account?: string;
  callerId?: string;
  callerName?: string;
  dialed: string;
  /** Trunk endpoint the call leaves by (default `trunk-uas`); null = rings endpoint `dialed` (internal). */
  trunk?: string | null;
  /** Caller's socket address: emits ChallengeSent + SuccessfulAuth first; null = no auth events. Default 127.0.0.1:5061. */
  source?: { address: string; port?: number } | null;
  /** ms from start until the far end answers (default 0); null = rings until hung up. */
  answerAfterMs?: number | null;
  /** ms from answer (from start if never answered) until the caller hangs up (BYE); null (default) = stays up. */
  hangupAfterMs?: number | null;
  /** Cause of the caller's own hangup (default 16). */
  hangupCause?: number;
}

export interface SimCall {
  /** A-leg Uniqueid = Linkedid (the adapter's callId). */
  readonly callId: string;
  /** A-leg channel, e.g. `PJSIP/1001-00000000`. */
  readonly channel: string;
  /** B-leg channel, e.g. `PJSIP/trunk-uas-00000001`: the call tollguard judges and cuts. */
  readonly peerChannel: string;
  /** B-leg Uniqueid (tollguard's callId of the call). */
  readonly peerCallId: string;
  readonly startedAt: number;
  readonly state: 'ringing' | 'up' | 'ended';
  /** Date.now() values; null until it happens. */
  readonly answeredAt: number | null;
  readonly endedAt: number | null;
  readonly endedBy: 'caller' | 'action' | null;
  readonly cause: number | null;
  /** Resolves when the call has ended (either way). */
  readonly ended: Promise<void>;
  /** Far end answers now (if still ringing). */
  answer(): void;
  /** Caller hangs up now (BYE), with `cause` (default the call's hangupCause). */
  hangup(cause?: number): void;
}

export interface SimAuthFailureOptions {
  address: string;
  port?: number;
  username: string;
  /** wrong-password: ChallengeSent + ChallengeResponseFailed; unknown-user: InvalidAccountID, ChallengeSent(<unknown>), InvalidAccountID, ChallengeResponseFailed(<unknown>). */
  kind: 'wrong-password' | 'unknown-user';
}

const STATE_DESC: Record<number, string> = { 0: 'Down', 4: 'Ring', 5: 'Ringing', 6: 'Up' };
const CAUSE_TEXT: Record<number, string> = {
  16: 'Normal Clearing',
  17: 'User busy',
  19: 'No answer',
  21: 'Call Rejected',
  34: 'Circuit/channel congestion',
  52: 'Outgoing call barred',
};

interface Channel {
  name: string;
  uniqueid: string;
  linkedid: string;
  state: number;
  callerNum: string;
  callerName: string;
  connectedNum: string;
  connectedName: string;
  account: string;
  context: string;
  exten: string;
  priority: number;
  application: string;
  applicationData: string;
  createdAt: number;
  call: CallRecord;
}

interface CallRecord extends SimCall {
  state: 'ringing' | 'up' | 'ended';
  answeredAt: number | null;
  endedAt: number | null;
  endedBy: 'caller' | 'action' | null;
  cause: number | null;
  a: Channel;
  b: Channel;
  trunk: string | null;
  source: { address: string; port: number } | null;
  bridgeId: string;
  timers: NodeJS.Timeout[];
  resolveEnded: () => void;
  hangupCause: number;
  hangupAfterMs: number | null;
}

interface Session {
  id: number;
  socket: net.Socket;
  out: WatchedSocket;
  parser: AmiParser;
  loggedIn: boolean;
  amiSessionId: string;
}

export class AmiSimServer {
  readonly host: string;
  port = 0;
  /** Every action received, in order. */
  readonly actions: RecordedAction[] = [];
  /** Every Login attempt: Date.now(), user, outcome. */
  readonly logins: { at: number; username: string; ok: boolean }[] = [];
  /** Actions named here get no answer at all (to test timeouts). */
  readonly silentActions = new Set<string>();
  /** AstDB contents, `family/key` -> value. */
  readonly db = new Map<string, string>();
  /** Sessions closed for not reading (writetimeout), in order. */
  readonly slowReaderDrops: SlowReaderDrop[] = [];
  private readonly outputs: WatchedSocket[] = [];

  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();
  private readonly channels = new Map<string, Channel>();
  private readonly calls = new Set<CallRecord>();
  private readonly waiters: { name: string; resolve: (a: RecordedAction) => void }[] = [];
  private readonly username: string;
  private readonly secret: string;
  private readonly authFailDelayMs: number;
  /** PJSIP endpoints this PBX has (PJSIPShowEndpoints); settable to model a changed config. */
  endpoints: string[];
  private readonly startedAt = Date.now();
  private frozen = false;
  private sessionSeq = 0;
  private channelSeq = 0;
  private uniqueSeq = 0;
  private attemptSeq = 0;
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  private readonly slowReader: SlowReaderPolicy | null;
  private slowReaderTick: NodeJS.Timeout | null = null;

  private constructor(opts: AmiSimServerOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.username = opts.username ?? 'fraudguard';
    this.endpoints = opts.endpoints ?? ['1001', '1002', '1003', 'trunk-uas'];
    this.secret = opts.secret ?? 'fraudguard-secret';
    this.authFailDelayMs = opts.authFailDelayMs ?? 1000;
    this.slowReader = opts.writeTimeoutMs ? { kind: 'writetimeout', ms: opts.writeTimeoutMs } : null;
    this.server = net.createServer((socket) => this.accept(socket));
  }

  static async start(opts: AmiSimServerOptions = {}): Promise<AmiSimServer> {
    const s = new AmiSimServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port ?? 0, s.host, () => resolve());
    });
    const addr = s.server.address();
    if (addr !== null && typeof addr === 'object') s.port = addr.port;
    s.startSlowReaderTick();
    return s;
  }

  async close(): Promise<void> {
    if (this.slowReaderTick) clearInterval(this.slowReaderTick);
    for (const t of this.pendingTimers) clearTimeout(t);
    for (const c of this.calls) for (const t of c.timers) clearTimeout(t);
    for (const s of this.sessions) s.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Sessions currently connected / logged in. */
  connectionCount(): number {
    return this.sessions.size;
  }

  loggedInCount(): number {
    let n = 0;
    for (const s of this.sessions) if (s.loggedIn) n++;
    return n;
  }

  /** Actions received with this Action name. */
  actionsNamed(name: string): RecordedAction[] {
    return this.actions.filter((a) => a.name.toLowerCase() === name.toLowerCase());
  }

  /** Resolves with the next action of that name to arrive. */
  nextAction(name: string): Promise<RecordedAction> {
    return new Promise((resolve) => this.waiters.push({ name: name.toLowerCase(), resolve }));
  }

  /** Closes every client connection at once (a PBX restart, a network cut). */
  dropAllConnections(): void {
    for (const s of this.sessions) s.socket.destroy();
  }

  /** Stops answering and sending anything, sockets left open: a hung Asterisk or a half-open link. */
  freeze(): void {
    this.frozen = true;
  }

  unfreeze(): void {
    this.frozen = false;
  }

  /** Writes bytes as they are to every logged-in session (garbage and framing tests). */
  inject(raw: string | Buffer): void {
    for (const s of this.sessions) if (s.loggedIn) s.out.write(raw);
  }

  /** Sends an event (pairs in order, `Event` first) to every logged-in session. */
  emitEvent(pairs: Pairs): void {
    this.broadcast(frame(pairs));
  }

  /** Channels alive now. */
  liveChannels(): { channel: string; uniqueid: string; linkedid: string; state: number }[] {
    return [...this.channels.values()].map((c) => ({ channel: c.name, uniqueid: c.uniqueid, linkedid: c.linkedid, state: c.state }));
  }

  /** Plays a call with the event sequence of outbound-call/server.raw. */
  call(opts: SimCallOptions): SimCall {
    const now = Date.now();
    const trunk = opts.trunk === undefined ? 'trunk-uas' : opts.trunk;
    const account = opts.account ?? '';
    const callerNum = opts.callerId ?? opts.endpoint;
    const callerName = opts.callerName ?? callerNum;
    const src = opts.source === undefined ? { address: '127.0.0.1', port: 5061 } : opts.source;
    const source = src === null ? null : { address: src.address, port: src.port ?? 5060 };
    let resolveEnded!: () => void;
    const ended = new Promise<void>((r) => (resolveEnded = r));
    const call = {
      state: 'ringing',
      answeredAt: null,
      endedAt: null,
      endedBy: null,
      cause: null,
      trunk,
      source,
      bridgeId: bridgeUuid(),
      timers: [],
      resolveEnded,
      ended,
      startedAt: now,
      hangupCause: opts.hangupCause ?? 16,
      hangupAfterMs: opts.hangupAfterMs ?? null,
    } as unknown as CallRecord;
    const aUnique = this.nextUniqueid(now);
    const a: Channel = {
      name: `PJSIP/${opts.endpoint}-${this.nextChannelSuffix()}`,
      uniqueid: aUnique,
      linkedid: aUnique,
      state: 4,
      callerNum,
      callerName,
      connectedNum: '<unknown>',
      connectedName: '<unknown>',
      account,
      context: 'from-internal',
      exten: opts.dialed,
      priority: 1,
      application: 'Dial',
      applicationData: trunk === null ? `PJSIP/${opts.dialed},60` : `PJSIP/${opts.dialed}@${trunk},60`,
      createdAt: now,
      call,
    };
    Object.assign(call, {
      a,
      callId: a.uniqueid,
      channel: a.name,
      answer: () => this.answer(call),
      hangup: (cause?: number) => this.callerHangup(call, cause ?? call.hangupCause),
    });
    if (source !== null) this.sipAuthSuccess(opts.endpoint, source.address, source.port);
    this.channels.set(a.name, a);
    this.broadcast(frame([['Event', 'Newchannel'], ['Privilege', 'call,all'], ...channelBlock(a)]));
    this.broadcast(frame([['Event', 'VarSet'], ['Privilege', 'dialplan,all'], ...channelBlock(a), ['Variable', 'SIPDOMAIN'], ['Value', '127.0.0.1']]));
    this.broadcast(frame([['Event', 'Newexten'], ['Privilege', 'dialplan,all'], ...channelBlock(a), ['Extension', a.exten], ['Application', 'NoOp'], ['AppData', `Outbound ${a.exten} from ${opts.endpoint} acct=${account}`]]));
    a.priority = 2;
    this.broadcast(frame([['Event', 'Newexten'], ['Privilege', 'dialplan,all'], ...channelBlock(a), ['Extension', a.exten], ['Application', 'Dial'], ['AppData', a.applicationData]]));
    this.broadcast(frame(celFrame('CHAN_START', a, '', '')));
    this.broadcast(frame(celFrame('APP_START', a, 'Dial', a.applicationData)));
    for (const v of ['DIALSTATUS', 'DIALEDPEERNUMBER', 'DIALEDPEERNAME']) {
      this.broadcast(frame([['Event', 'VarSet'], ['Privilege', 'dialplan,all'], ...channelBlock(a), ['Variable', v], ['Value', '']]));
    }
    const bEndpoint = trunk ?? opts.dialed;
    const bUnique = this.nextUniqueid(now);
    const b: Channel = {
      name: `PJSIP/${bEndpoint}-${this.nextChannelSuffix()}`,
      uniqueid: bUnique,
      linkedid: a.linkedid,
      state: 0,
      callerNum: '<unknown>',
      callerName: '<unknown>',
      connectedNum: '<unknown>',
      connectedName: '<unknown>',
      account: '',
      context: trunk === null ? 'from-internal' : 'from-trunk',
      exten: 's',
      priority: 1,
      application: 'AppDial',
      applicationData: '(Outgoing Line)',
      createdAt: now,
      call,
    };
    Object.assign(call, { b, peerChannel: b.name, peerCallId: b.uniqueid });
    this.channels.set(b.name, b);
    this.broadcast(frame([['Event', 'Newchannel'], ['Privilege', 'call,all'], ...channelBlock(b)]));
    b.callerNum = opts.dialed;
    b.connectedNum = callerNum;
    b.connectedName = callerName;
    b.account = account;
    b.exten = opts.dialed;
    this.broadcast(frame([['Event', 'NewCallerid'], ['Privilege', 'call,all'], ...channelBlock(b), ['CID-CallingPres', '0 (Presentation Allowed, Not Screened)']]));
    this.broadcast(frame([['Event', 'NewAccountCode'], ['Privilege', 'call,all'], ...channelBlock(b), ['OldAccountCode', '']]));
    this.broadcast(frame([['Event', 'NewConnectedLine'], ['Privilege', 'call,all'], ...channelBlock(b)]));
    const dialString = trunk === null ? opts.dialed : `${opts.dialed}@${trunk}`;
    this.broadcast(frame([['Event', 'DialBegin'], ['Privilege', 'call,all'], ...channelBlock(a), ...channelBlock(b, 'Dest'), ['DialString', dialString]]));
    a.connectedNum = opts.dialed;
    this.broadcast(frame([['Event', 'NewConnectedLine'], ['Privilege', 'call,all'], ...channelBlock(a)]));
    b.state = 5;
    this.broadcast(frame([['Event', 'Newstate'], ['Privilege', 'call,all'], ...channelBlock(b)]));
    this.broadcast(frame([['Event', 'DialState'], ['Privilege', 'call,all'], ...channelBlock(a), ...channelBlock(b, 'Dest'), ['DialStatus', 'RINGING']]));
    this.calls.add(call);

    const answerAfter = opts.answerAfterMs === undefined ? 0 : opts.answerAfterMs;
    if (answerAfter !== null) call.timers.push(setTimeout(() => this.answer(call), answerAfter));
    else if (call.hangupAfterMs !== null) call.timers.push(setTimeout(() => this.callerHangup(call, call.hangupCause), call.hangupAfterMs));
    return call;
  }

  /** A failed SIP digest attempt, with the exact events of register-bruteforce/. Returns its SessionID (Call-ID). */
  authFailure(opts: SimAuthFailureOptions): string {
    const sessionId = `${++this.attemptSeq}-${process.pid}@${opts.address}`;
    const remote = remoteAddress(opts.address, opts.port ?? 5060);
    const head = (event: string, severity: string, account: string): Pairs => [
      ['Event', event],
      ['Privilege', 'security,all'],
      ['EventTV', eventTv()],
      ['Severity', severity],
      ['Service', 'PJSIP'],
      ['EventVersion', '1'],
      ['AccountID', account],
      ['SessionID', sessionId],
      ['LocalAddress', 'IPV4/UDP/127.0.0.1/5060'],
      ['RemoteAddress', remote],
    ];
    const failed = (account: string): Pairs => [
      ...head('ChallengeResponseFailed', 'Error', account),
      ['Challenge', `${Math.floor(Date.now() / 1000)}/${hex(32)}`],
      ['Response', hex(32)],
      ['ExpectedResponse', ''],
    ];
    if (opts.kind === 'wrong-password') {
      this.broadcast(frame([...head('ChallengeSent', 'Informational', opts.username), ['Challenge', '']]));
      this.broadcast(frame(failed(opts.username)));
    } else {
      this.broadcast(frame(head('InvalidAccountID', 'Error', opts.username)));
      this.broadcast(frame([...head('ChallengeSent', 'Informational', '<unknown>'), ['Challenge', '']]));
      this.broadcast(frame(head('InvalidAccountID', 'Error', opts.username)));
      this.broadcast(frame(failed('<unknown>')));
    }
    return sessionId;
  }

  /** A good SIP digest auth (REGISTER or call): ChallengeSent + SuccessfulAuth. Returns its SessionID. */
  sipAuthSuccess(username: string, address: string, port = 5060): string {
    const sessionId = `${++this.attemptSeq}-${process.pid}@${address}`;
    const head = (event: string): Pairs => [
      ['Event', event],
      ['Privilege', 'security,all'],
      ['EventTV', eventTv()],
      ['Severity', 'Informational'],
      ['Service', 'PJSIP'],
      ['EventVersion', '1'],
      ['AccountID', username],
      ['SessionID', sessionId],
      ['LocalAddress', 'IPV4/UDP/127.0.0.1/5060'],
      ['RemoteAddress', remoteAddress(address, port)],
    ];
    this.broadcast(frame([...head('ChallengeSent'), ['Challenge', '']]));
    this.broadcast(frame([...head('SuccessfulAuth'), ['UsingPassword', '1']]));
    return sessionId;
  }

  /** What the clients were sent, over every connection so far (see OutputTotals). */
  outputStats(): OutputTotals {
    return outputTotals(this.outputs);
  }

  private watch(socket: net.Socket, id: number): WatchedSocket {
    const out = new WatchedSocket(socket, id, this.slowReader, (d) => this.slowReaderDrops.push(d));
    this.outputs.push(out);
    return out;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const id = ++this.sessionSeq;
    const session: Session = {
      id,
      socket,
      out: this.watch(socket, id),
      parser: new AmiParser(),
      loggedIn: false,
      amiSessionId: `0x${(0x7f82d4000000 + this.sessionSeq * 0x1460).toString(16)}`,
    };
    this.sessions.add(session);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sessions.delete(session));
    if (!this.frozen) session.out.write('Asterisk Call Manager/11.0.0\r\n');
    socket.on('data', (chunk: Buffer) => {
      if (this.frozen) return;
      session.parser.parse(chunk, (m) => this.onAction(session, m));
    });
  }

  private onAction(s: Session, m: AmiMessage): void {
    const name = m.get('Action') ?? '';
    const actionId = m.actionId;
    const recorded: RecordedAction = { at: Date.now(), session: s.id, name, actionId, fields: m.pairs(), get: (k) => m.get(k) };
    this.actions.push(recorded);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.name === name.toLowerCase()) {
        this.waiters.splice(i, 1);
        w.resolve(recorded);
      }
    }
    if (this.silentActions.has(name)) return;
    const reply = (pairs: Pairs): void => {
      s.out.write(frame(withActionId(pairs, actionId)));
    };
    const lower = name.toLowerCase();
    if (lower === 'login') return this.login(s, m, reply);
    if (lower === 'logoff') {
      reply([['Response', 'Goodbye'], ['Message', 'Thanks for all the fish.']]);
      s.socket.end();
      return;
    }
    if (!s.loggedIn) {
      reply([['Response', 'Error'], ['Message', 'Permission denied']]);
      return;
    }
    switch (lower) {
      case 'ping':
        reply([['Response', 'Success'], ['Ping', 'Pong'], ['Timestamp', (Date.now() / 1000).toFixed(6)]]);
        return;
      case 'coreshowchannels':
        return this.coreShowChannels(s, actionId, reply);
      case 'pjsipshowendpoints':
        return this.showEndpoints(s, actionId, reply);
      case 'hangup':
        return this.hangupAction(s, m, actionId, reply);
      case 'getvar':
        return this.getvar(m, reply);
      case 'dbput':
        this.db.set(`${m.get('Family') ?? ''}/${m.get('Key') ?? ''}`, m.get('Val') ?? '');
        reply([['Response', 'Success'], ['Message', 'Updated database successfully']]);
        return;
      case 'dbget': {
        const family = m.get('Family') ?? '';
        const key = m.get('Key') ?? '';
        const val = this.db.get(`${family}/${key}`);
        if (val === undefined) {
          reply([['Response', 'Error'], ['Message', 'Database entry not found']]);
          return;
        }
        reply([['Response', 'Success'], ['EventList', 'start'], ['Message', 'Result will follow']]);
        s.out.write(frame([['Event', 'DBGetResponse'], ['Family', family], ['Key', key], ['Val', val], ...actionIdPair(actionId)]));
        s.out.write(frame(withActionId([['Event', 'DBGetComplete'], ['EventList', 'Complete'], ['ListItems', 1]], actionId)));
        return;
      }
      case 'dbgettree': {
        const prefix = `${m.get('Family') ?? ''}/`;
        const rows = [...this.db].filter(([k]) => k.startsWith(prefix));
        reply([['Response', 'Success'], ['EventList', 'start'], ['Message', 'Result will follow']]);
        for (const [k, v] of rows) s.socket.write(frame([['Event', 'DBGetTreeResponse'], ['Key', `/${k}`], ['Val', v], ...actionIdPair(actionId)]));
        s.socket.write(frame(withActionId([['Event', 'DBGetTreeComplete'], ['EventList', 'Complete'], ['ListItems', rows.length]], actionId)));
        return;
      }
      case 'dbdel': {
        const k = `${m.get('Family') ?? ''}/${m.get('Key') ?? ''}`;
        if (this.db.delete(k)) reply([['Response', 'Success'], ['Message', 'Key deleted successfully']]);
        else reply([['Response', 'Error'], ['Message', 'Database entry could not be deleted']]);
        return;
      }
      default:
        reply([['Response', 'Error'], ['Message', `Invalid/unknown command: ${name}. Use Action: ListCommands to show available commands.`]]);
        s.out.write(frame([...amiSecurityHead('RequestBadFormat', 'Error', s), ['RequestType', `Action: ${name}`], ['SessionTV', eventTv()], ['AccountID', this.username]]));
    }
  }

  private login(s: Session, m: AmiMessage, reply: (p: Pairs) => void): void {
    const username = m.get('Username') ?? '';
    const good = username === this.username && m.get('Secret') === this.secret;
    this.logins.push({ at: Date.now(), username, ok: good });
    if (good) {
      s.loggedIn = true;
      reply([['Response', 'Success'], ['Message', 'Authentication accepted']]);
      const uptime = Math.floor((Date.now() - this.startedAt) / 1000);
      s.out.write(frame([['Event', 'FullyBooted'], ['Privilege', 'system,all'], ['Uptime', uptime], ['LastReload', uptime], ['Status', 'Fully Booted']]));
      this.broadcast(
        frame([...amiSecurityHead('SuccessfulAuth', 'Informational', s, username), ['UsingPassword', '0'], ['SessionTV', eventTv()]]),
      );
      return;
    }
    const known = username === this.username;
    this.broadcast(
      frame(
        known
          ? [...amiSecurityHead('InvalidPassword', 'Error', s, username, 2), ['SessionTV', '1970-01-01T00:00:00.000+0000']]
          : [...amiSecurityHead('InvalidAccountID', 'Error', s, username), ['SessionTV', '1970-01-01T00:00:00.000+0000']],
      ),
    );
    const t = setTimeout(() => {
      this.pendingTimers.delete(t);
      if (this.frozen || s.socket.destroyed) return;
      reply([['Response', 'Error'], ['Message', 'Authentication failed']]);
      s.socket.end();
    }, this.authFailDelayMs);
    this.pendingTimers.add(t);
  }

  private coreShowChannels(s: Session, actionId: string | null, reply: (p: Pairs) => void): void {
    reply([['Response', 'Success'], ['EventList', 'start'], ['Message', 'Channels will follow']]);
    const now = Date.now();
    let n = 0;
    for (const c of this.channels.values()) {
      n++;
      s.out.write(
        frame([
          ['Event', 'CoreShowChannel'],
          ...actionIdPair(actionId),
          ...channelBlock(c),
          ['Application', c.application],
          ['ApplicationData', c.applicationData],
          ['Duration', hms(now - c.createdAt)],
          ['BridgeId', c.call.state === 'up' ? c.call.bridgeId : ''],
        ]),
      );
    }
    s.out.write(frame([['Event', 'CoreShowChannelsComplete'], ...actionIdPair(actionId), ['EventList', 'Complete'], ['ListItems', n]]));
  }

  /** As in status-db-command: EndpointList items, then EndpointListComplete. */
  private showEndpoints(s: Session, actionId: string | null, reply: (p: Pairs) => void): void {
    const names = this.endpoints;
    reply([['Response', 'Success'], ['EventList', 'start'], ['Message', 'A listing of Endpoints follows, presented as EndpointList events']]);
    for (const name of names) {
      s.socket.write(frame([
        ['Event', 'EndpointList'], ...actionIdPair(actionId), ['ObjectType', 'endpoint'], ['ObjectName', name], ['Transport', 'transport-udp'],
        ['Aor', name], ['Auths', name.startsWith('trunk') ? '' : `${name}-auth`], ['OutboundAuths', ''], ['Contacts', ''], ['DeviceState', 'Not in use'], ['ActiveChannels', 0],
      ]));
    }
    s.socket.write(frame(withActionId([['Event', 'EndpointListComplete'], ['EventList', 'Complete'], ['ListItems', names.length]], actionId)));
  }

  private getvar(m: AmiMessage, reply: (p: Pairs) => void): void {
    const variable = m.get('Variable') ?? '';
    const name = m.get('Channel');
    const c = name === undefined ? undefined : this.channels.get(name);
    if (name !== undefined && c === undefined) {
      reply([['Response', 'Error'], ['Message', 'No such channel']]);
      return;
    }
    let value = '';
    if (c !== undefined) {
      if (variable === 'CHANNEL(pjsip,remote_addr)') {
        const src = c === c.call.a ? c.call.source : null;
        value = src === null ? '' : src.address.includes(':') ? `[${src.address}]:${src.port}` : `${src.address}:${src.port}`;
      } else if (variable === 'CHANNEL(accountcode)') value = c.account;
      else if (variable === 'CALLERID(num)') value = c.callerNum;
    }
    reply([['Response', 'Success'], ['Variable', variable], ['Value', value]]);
  }

  private hangupAction(s: Session, m: AmiMessage, actionId: string | null, reply: (p: Pairs) => void): void {
    const target = m.get('Channel') ?? '';
    const causeText = m.get('Cause');
    const cause = causeText !== undefined && /^\d+$/.test(causeText) ? Number(causeText) : 16;
    if (target.length > 1 && target.startsWith('/') && target.endsWith('/')) {
      let re: RegExp;
      try {
        re = new RegExp(target.slice(1, -1));
      } catch {
        reply([['Response', 'Error'], ['Message', 'Invalid regex']]);
        return;
      }
      const hit = [...this.channels.values()].filter((c) => re.test(c.name));
      reply([['Response', 'Success'], ['EventList', 'start'], ['Message', 'Channels hung up will follow']]);
      for (const c of hit) s.out.write(frame([['Event', 'ChannelHungup'], ['Channel', c.name], ...actionIdPair(actionId)]));
      s.out.write(frame(withActionId([['Event', 'ChannelsHungupListComplete'], ['EventList', 'Complete'], ['ListItems', hit.length]], actionId)));
      for (const c of hit) if (c.call.state !== 'ended') this.teardown(c.call, c, cause, 'action');
      return;
    }
    const c = this.channels.get(target);
    if (c === undefined || c.call.state === 'ended') {
      reply([['Response', 'Error'], ['Message', 'No such channel']]);
      return;
    }
    reply([['Response', 'Success'], ['Message', 'Channel Hungup']]);
    this.teardown(c.call, c, cause, 'action');
  }

  private answer(call: CallRecord): void {
    if (call.state !== 'ringing') return;
    const { a, b } = call;
    call.state = 'up';
    call.answeredAt = Date.now();
    b.state = 6;
    this.broadcast(frame([['Event', 'Newstate'], ['Privilege', 'call,all'], ...channelBlock(b)]));
    b.exten = '';
    this.broadcast(frame([['Event', 'DialEnd'], ['Privilege', 'call,all'], ...channelBlock(a), ...channelBlock(b, 'Dest'), ['DialStatus', 'ANSWER']]));
    a.state = 6;
    this.broadcast(frame([['Event', 'Newstate'], ['Privilege', 'call,all'], ...channelBlock(a)]));
    this.broadcast(frame(celFrame('ANSWER', a, 'Dial', a.applicationData)));
    this.broadcast(frame([['Event', 'BridgeCreate'], ['Privilege', 'call,all'], ...bridgeBlock(call.bridgeId, 'simple_bridge', 0)]));
    this.broadcast(frame([['Event', 'BridgeEnter'], ['Privilege', 'call,all'], ...bridgeBlock(call.bridgeId, 'simple_bridge', 1), ...channelBlock(b)]));
    this.broadcast(frame([['Event', 'BridgeEnter'], ['Privilege', 'call,all'], ...bridgeBlock(call.bridgeId, 'simple_bridge', 2), ...channelBlock(a)]));
    this.broadcast(frame([['Event', 'VarSet'], ['Privilege', 'dialplan,all'], ...channelBlock(a), ['Variable', 'BRIDGEPEER'], ['Value', b.name]]));
    if (call.hangupAfterMs !== null) call.timers.push(setTimeout(() => this.callerHangup(call, call.hangupCause), call.hangupAfterMs));
  }

  /** The caller sends BYE: HangupRequest, bridge teardown, SoftHangupRequest, Hangup x2, Cdr. */
  private callerHangup(call: CallRecord, cause: number): void {
    if (call.state === 'ended') return;
    const { a } = call;
    this.broadcast(frame([['Event', 'HangupRequest'], ['Privilege', 'call,all'], ...channelBlock(a), ['Cause', cause]]));
    this.teardown(call, a, cause, 'caller');
  }

  /** Tears the call down from `first` (the channel hung up): its Hangup, then the other leg's. */
  private teardown(call: CallRecord, first: Channel, cause: number, by: 'caller' | 'action'): void {
    const { a, b } = call;
    const other = first === a ? b : a;
    const wasUp = call.state === 'up';
    call.state = 'ended';
    call.endedAt = Date.now();
    call.endedBy = by;
    call.cause = cause;
    for (const t of call.timers) clearTimeout(t);
    if (wasUp) {
      this.broadcast(frame([['Event', 'BridgeLeave'], ['Privilege', 'call,all'], ...bridgeBlock(call.bridgeId, 'native_rtp', 1), ...channelBlock(first)]));
      this.broadcast(frame([['Event', 'SoftHangupRequest'], ['Privilege', 'call,all'], ...channelBlock(first), ['Cause', cause]]));
      this.broadcast(frame([['Event', 'BridgeLeave'], ['Privilege', 'call,all'], ...bridgeBlock(call.bridgeId, 'native_rtp', 0), ...channelBlock(other)]));
      this.broadcast(frame([['Event', 'BridgeDestroy'], ['Privilege', 'call,all'], ...bridgeBlock(call.bridgeId, 'native_rtp', 0)]));
    } else {
      this.broadcast(frame([['Event', 'SoftHangupRequest'], ['Privilege', 'call,all'], ...channelBlock(first), ['Cause', cause]]));
      this.broadcast(frame([['Event', 'DialEnd'], ['Privilege', 'call,all'], ...channelBlock(a), ...channelBlock(b, 'Dest'), ['DialStatus', 'CANCEL']]));
    }
    const hangup = (c: Channel): Pairs => [['Event', 'Hangup'], ['Privilege', 'call,all'], ...channelBlock(c), ['Cause', cause], ['Cause-txt', CAUSE_TEXT[cause] ?? 'Unknown']];
    this.broadcast(frame(hangup(first)));
    this.channels.delete(first.name);
    this.broadcast(frame(hangup(other)));
    this.channels.delete(other.name);
    this.broadcast(frame(cdrFrame(call)));
    this.calls.delete(call);
    call.resolveEnded();
  }

  private broadcast(data: string): void {
    if (this.frozen) return;
    for (const s of this.sessions) if (s.loggedIn) s.out.write(data);
  }

  private startSlowReaderTick(): void {
    const every = tickEvery(this.slowReader);
    if (every === null) return;
    let last = Date.now();
    this.slowReaderTick = setInterval(() => {
      const now = Date.now();
      const late = now - last - every;
      last = now;
      for (const s of this.sessions) s.out.tick(now, late);
    }, every);
    this.slowReaderTick.unref();
  }

  private nextUniqueid(now: number): string {
    return `${Math.floor(now / 1000)}.${this.uniqueSeq++}`;
  }

  private nextChannelSuffix(): string {
    return (this.channelSeq++).toString(16).padStart(8, '0');
  }
}

function frame(pairs: Pairs): string {
  const f = formatFrame(pairs);
  if (f === null) throw new Error(`simulator built a bad frame: ${JSON.stringify(pairs)}`);
  return f;
}

/** Responses carry ActionID as their 2nd line, and none when the action had none. */
function withActionId(pairs: Pairs, actionId: string | null): Pairs {
  if (actionId === null) return pairs;
  return [pairs[0]!, ['ActionID', actionId], ...pairs.slice(1)];
}

/**
 * The ActionID pair of a list item, placed by the caller where Asterisk puts it: 2nd line in
 * CoreShowChannel and `*Complete`, last line in DBGetResponse and ChannelHungup.
 */
function actionIdPair(actionId: string | null): Pairs {
  return actionId === null ? [] : [['ActionID', actionId]];
}

function channelBlock(c: Channel, prefix = ''): Pairs {
  return [
    [`${prefix}Channel`, c.name],
    [`${prefix}ChannelState`, c.state],
    [`${prefix}ChannelStateDesc`, STATE_DESC[c.state] ?? 'Unknown'],
    [`${prefix}CallerIDNum`, c.callerNum],
    [`${prefix}CallerIDName`, c.callerName],
    [`${prefix}ConnectedLineNum`, c.connectedNum],
    [`${prefix}ConnectedLineName`, c.connectedName],
    [`${prefix}Language`, 'en'],
    [`${prefix}AccountCode`, c.account],
    [`${prefix}Context`, c.context],
    [`${prefix}Exten`, c.exten],
    [`${prefix}Priority`, c.priority],
    [`${prefix}Uniqueid`, c.uniqueid],
    [`${prefix}Linkedid`, c.linkedid],
  ];
}

function bridgeBlock(id: string, technology: string, numChannels: number): Pairs {
  return [
    ['BridgeUniqueid', id],
    ['BridgeType', 'basic'],
    ['BridgeTechnology', technology],
    ['BridgeCreator', '<unknown>'],
    ['BridgeName', '<unknown>'],
    ['BridgeNumChannels', numChannels],
    ['BridgeVideoSourceMode', 'none'],
  ];
}

function celFrame(eventName: string, c: Channel, application: string, appData: string): Pairs {
  return [
    ['Event', 'CEL'],
    ['Privilege', 'call,all'],
    ['EventName', eventName],
    ['AccountCode', c.account],
    ['CallerIDnum', c.callerNum],
    ['CallerIDname', c.callerName],
    ['CallerIDani', ''],
    ['CallerIDrdnis', ''],
    ['CallerIDdnid', ''],
    ['Exten', c.exten],
    ['Context', c.context],
    ['Channel', c.name],
    ['Application', application],
    ['AppData', appData],
    ['EventTime', localTime(Date.now())],
    ['AMAFlags', 'DOCUMENTATION'],
    ['UniqueID', c.uniqueid],
    ['LinkedID', c.linkedid],
    ['Userfield', ''],
    ['Peer', ''],
    ['PeerAccount', ''],
    ['Extra', ''],
  ];
}

function cdrFrame(call: CallRecord): Pairs {
  const { a, b } = call;
  const end = call.endedAt ?? Date.now();
  const billable = call.answeredAt === null ? 0 : Math.round((end - call.answeredAt) / 1000);
  return [
    ['Event', 'Cdr'],
    ['Privilege', 'cdr,all'],
    ['AccountCode', a.account],
    ['Source', a.callerNum],
    ['Destination', a.exten],
    ['DestinationContext', a.context],
    ['CallerID', `"${a.callerName}" <${a.callerNum}>`],
    ['Channel', a.name],
    ['DestinationChannel', b.name],
    ['LastApplication', 'Dial'],
    ['LastData', a.applicationData],
    ['StartTime', localTime(call.startedAt)],
    ['AnswerTime', call.answeredAt === null ? '' : localTime(call.answeredAt)],
    ['EndTime', localTime(end)],
    ['Duration', Math.round((end - call.startedAt) / 1000)],
    ['BillableSeconds', billable],
    ['Disposition', call.answeredAt === null ? 'NO ANSWER' : 'ANSWERED'],
    ['AMAFlags', 'DOCUMENTATION'],
    ['UniqueID', a.uniqueid],
    ['UserField', ''],
  ];
}

function amiSecurityHead(event: string, severity: string, s: Session, account?: string, version = 1): Pairs {
  const local = s.socket.localPort ?? 5038;
  const remote = remoteAddress(s.socket.remoteAddress ?? '127.0.0.1', s.socket.remotePort ?? 0, 'TCP');
  const head: Pairs = [
    ['Event', event],
    ['Privilege', 'security,all'],
    ['EventTV', eventTv()],
    ['Severity', severity],
    ['Service', 'AMI'],
    ['EventVersion', version],
  ];
  if (account !== undefined) head.push(['AccountID', account]);
  head.push(['SessionID', s.amiSessionId], ['LocalAddress', `IPV4/TCP/127.0.0.1/${local}`], ['RemoteAddress', remote]);
  return head;
}

function remoteAddress(address: string, port: number, transport = 'UDP'): string {
  const v4 = address.replace(/^::ffff:/i, '');
  return net.isIPv4(v4) ? `IPV4/${transport}/${v4}/${port}` : `IPV6/${transport}/${address}/${port}`;
}

/** `2026-11-24T13:45:20.446+0000`, as security events write EventTV. */
function eventTv(): string {
  return new Date().toISOString().replace('Z', '+0000');
}

/** `2026-11-24 13:45:52` (Cdr and CEL, local time without zone). */
function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function hms(ms: number): string {
  const t = Math.max(0, Math.floor(ms / 1000));
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(Math.floor(t / 3600))}:${p(Math.floor((t % 3600) / 60))}:${p(t % 60)}`;
}

function hex(n: number): string {
  let s = '';
  while (s.length < n) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

function bridgeUuid(): string {
  const h = hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
