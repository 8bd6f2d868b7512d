import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { urlEncode } from '../pbx/freeswitch/event.js';
import { FS_TEMPLATES, type EslTemplate, type EslValue } from './freeswitch-templates.js';
import { FREESWITCH_EVENT_QUEUE, outputTotals, WatchedSocket, type OutputTotals, type SlowReaderDrop, type SlowReaderPolicy } from './slow-reader.js';

/**
 * A fake FreeSWITCH event socket (mod_event_socket, inbound) for tests, the demo and the
 * benchmarks. It speaks the recorded shapes of a real FreeSWITCH 1.10.12: every event it
 * sends is a real recorded event with uuids, numbers, accountcode, addresses, causes and
 * timestamps substituted (lib/sim/freeswitch-templates.ts).
 */

export interface EslSimOptions {
  /** event_socket password; default `ClueCon` (FreeSWITCH's default). */
  password?: string;
  host?: string;
  /** 0 (default) = an ephemeral port; read `port` after start(). */
  port?: number;
  /** HEARTBEAT period; null (default) = only when heartbeat() is called. */
  heartbeatMs?: number | null;
  /** Directory users `list_users` reports (default 1001, 1002, 1003). */
  users?: string[];
  /** Gateways `sofia status gateway` reports (default uas, uas2, on profile internal). */
  gateways?: string[];
  /**
   * mod_event_socket's per-listener event queue: events wait there while the client's socket
   * is full; past `maxQueued` they are lost, and a listener losing more than `maxLost` in a
   * row is killed. Default FreeSWITCH's own 100,000 / 500; null = unbounded.
   */
  eventQueue?: { maxQueued: number; maxLost: number } | null;
  /** How long the switch takes to run a command (by its line, e.g. `api db insert/...`); default 0. */
  commandMs?: (line: string) => number;
}

export interface SimCallOptions {
  /** SIP user placing the call (default `1001`). */
  user?: string;
  /** variable_accountcode (default `acct-<user>`). */
  account?: string;
  dialed: string;
  /** Gateway the B-leg leaves by (default `uas`); null = an internal leg (`user/<dialed>`). */
  gateway?: string | null;
  /** Caller's network address (default 127.0.0.1). */
  source?: string;
  /** Delay from setup to answer; null = never answers (default 1000). */
  answerAfterMs?: number | null;
  /** Delay from setup to the caller hanging up; null (default) = until killed or hangup(). */
  hangupAfterMs?: number | null;
  /** Hangup-Cause when the caller hangs up (default NORMAL_CLEARING). */
  hangupCause?: string;
}

export interface SimCall {
  readonly aUuid: string;
  readonly bUuid: string;
  readonly user: string;
  readonly account: string;
  readonly dialed: string;
  readonly gateway: string | null;
  readonly startedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  cause: string | null;
}

export interface SimAuthFailureOptions {
  address: string;
  username: string;
  /**
   * wrong-password / unknown-user / scanner: a REGISTER answered 403 (register_attempt
   * FORBIDDEN + register_failure REGISTER); invite: an INVITE with a bad password (failure
   * with registration-type INVITE, to-user = dialled number); invite-scan: an INVITE that
   * never answers the 407 (pre_register, then sofia::wrong_call_state).
   */
  kind: 'wrong-password' | 'unknown-user' | 'scanner' | 'invite' | 'invite-scan';
  /** Default `friendly-scanner` for kind scanner / invite-scan, else a Yealink UA. */
  userAgent?: string;
  port?: number;
  /** For invite / invite-scan (default 011442079460000). */
  dialed?: string;
}

export interface SimCommand {
  /** Date.now() when the command was read. */
  at: number;
  /** Which accepted connection (1, 2, ...). */
  connection: number;
  /** The command line, e.g. `api uuid_kill <uuid> CALL_REJECTED` (`auth` keeps its argument). */
  line: string;
  /** Header lines sent with it (e.g. Job-UUID). */
  headers: Record<string, string>;
}

interface Conn {
  id: number;
  socket: net.Socket;
  out: WatchedSocket;
  authed: boolean;
  format: 'json' | 'plain';
  all: boolean;
  names: Set<string>;
  custom: Set<string>;
  /** `filter` header/value pairs: when any are set, an event passes if it matches one. */
  filters: [string, string][];
  buf: string;
  /** A command is running (commandMs): the listener thread is busy with it. */
  busy: boolean;
  /** Events waiting for the listener thread to be idle, as frames. */
  held: string[];
}

interface LiveCall extends SimCall {
  answerTimer: NodeJS.Timeout | null;
  hangupTimer: NodeJS.Timeout | null;
  sub: (v: string) => string;
  source: string;
}

const TPL = FS_TEMPLATES;
const ROW_A = TPL.channelRows.find((r) => r.direction === 'inbound' && r.dest === '011442079460000');
const ROW_B = TPL.channelRows.find((r) => r.direction === 'outbound' && r.dest === '011442079460000');
const DEFAULT_UA = 'Yealink SIP-T46S 66.86.0.15';
const DISCONNECT_BYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';
const SHUTDOWN_NOTICE = 'The system is being shut down.\n';
const Q850: Record<string, string> = { NORMAL_CLEARING: '16', CALL_REJECTED: '21', OUTGOING_CALL_BARRED: '52', ORIGINATOR_CANCEL: '487', NO_ANSWER: '19', USER_BUSY: '17' };
const ANSWER_AT = TPL.call.findIndex((e) => e['Event-Name'] === 'CHANNEL_ANSWER');
const HANGUP_AT = TPL.call.findIndex((e) => e['Event-Name'] === 'CHANNEL_HANGUP');

export class EslSimServer {
  /** Every command received, in order (tests assert on uuid_kill, db, ...). */
  readonly commands: SimCommand[] = [];
  /** mod_db contents: `family/key` -> value. */
  readonly db = new Map<string, string>();
  /** auth commands received (right or wrong password). */
  authAttempts = 0;
  /** Listeners killed for not reading (event queue full), in order. */
  readonly slowReaderDrops: SlowReaderDrop[] = [];
  private readonly outputs: WatchedSocket[] = [];
  private readonly slowReader: SlowReaderPolicy | null;
  private password: string;
  private readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  private readonly calls = new Map<string, LiveCall>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private connSeq = 0;
  private eventSeq = 20000;
  private frozen = false;
  private down = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();
  port = 0;
  readonly host: string;

  private constructor(private readonly opts: EslSimOptions) {
    this.password = opts.password ?? 'ClueCon';
    this.host = opts.host ?? '127.0.0.1';
    const q = opts.eventQueue === undefined ? FREESWITCH_EVENT_QUEUE : opts.eventQueue === null ? null : { kind: 'event-queue' as const, ...opts.eventQueue };
    this.slowReader = q;
    this.server = net.createServer((s) => this.accept(s));
  }

  static async start(opts: EslSimOptions = {}): Promise<EslSimServer> {
    const sim = new EslSimServer(opts);
    await new Promise<void>((resolve, reject) => {
      sim.server.once('error', reject);
      sim.server.listen(opts.port ?? 0, sim.host, () => resolve());
    });
    sim.port = (sim.server.address() as net.AddressInfo).port;
    if (opts.heartbeatMs) sim.heartbeatTimer = setInterval(() => sim.heartbeat(), opts.heartbeatMs);
    return sim;
  }

  async close(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const t of this.timers) clearTimeout(t);
    for (const c of this.calls.values()) this.clearCallTimers(c);
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  setPassword(password: string): void {
    this.password = password;
  }

  /** Open client connections (authenticated or not). */
  connectionCount(): number {
    return this.conns.size;
  }

  liveCalls(): SimCall[] {
    return [...this.calls.values()];
  }

  /** Cuts every connection without a word (a crash, a network cut). */
  dropAllConnections(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  /** Half-open link: sockets stay open, nothing is read or sent until unfreeze(). */
  freeze(): void {
    this.frozen = true;
    for (const c of this.conns) c.socket.pause();
  }

  unfreeze(): void {
    this.frozen = false;
    for (const c of this.conns) c.socket.resume();
  }

  /**
   * FreeSWITCH stopping: SHUTDOWN event, the disconnect notice "The system is being shut
   * down.", close; new connections are refused (closed at once) until restart().
   */
  shutdown(): void {
    this.emitEvent({ ...TPL.shutdown });
    for (const c of this.conns) {
      if (!c.authed) continue;
      this.writeNotice(c, SHUTDOWN_NOTICE);
      c.socket.end();
    }
    this.down = true;
  }

  restart(): void {
    this.down = false;
  }

  /** Writes bytes as they are to every authenticated connection (garbage, odd frames). */
  inject(raw: string | Buffer): void {
    for (const c of this.conns) if (c.authed && !this.frozen) c.out.write(raw, 'reply');
  }

  heartbeat(): void {
    this.emitEvent({ ...TPL.heartbeat, 'Session-Count': String(this.calls.size * 2) });
  }

  /**
   * Plays a two-leg call from the recorded outbound call: A CHANNEL_CREATE, B OUTGOING /
   * CREATE / ORIGINATE / PROGRESS, A PROGRESS at once; B ANSWER, A ANSWER, BRIDGE after
   * answerAfterMs; the hangup sequence (A first) after hangupAfterMs, or on uuid_kill.
   */
  call(o: SimCallOptions): SimCall {
    const user = o.user ?? '1001';
    const call: LiveCall = {
      aUuid: randomUUID(),
      bUuid: randomUUID(),
      user,
      account: o.account ?? `acct-${user}`,
      dialed: o.dialed,
      gateway: o.gateway === undefined ? 'uas' : o.gateway,
      source: o.source ?? '127.0.0.1',
      startedAt: Date.now(),
      answeredAt: null,
      endedAt: null,
      cause: null,
      answerTimer: null,
      hangupTimer: null,
      sub: (v) => v,
    };
    call.sub = substitution(call);
    this.calls.set(call.aUuid, call);
    this.playCall(call, 0, ANSWER_AT, null);
    const answerAfter = o.answerAfterMs === undefined ? 1000 : o.answerAfterMs;
    if (answerAfter !== null) call.answerTimer = setTimeout(() => this.answer(call), answerAfter);
    if (o.hangupAfterMs !== undefined && o.hangupAfterMs !== null) {
      call.hangupTimer = setTimeout(() => this.hangup(call, o.hangupCause ?? 'NORMAL_CLEARING'), o.hangupAfterMs);
    }
    return call;
  }

  answer(call: SimCall): void {
    const c = this.calls.get(call.aUuid);
    if (!c || c.answeredAt !== null || c.endedAt !== null) return;
    c.answeredAt = Date.now();
    this.playCall(c, ANSWER_AT, HANGUP_AT, null);
  }

  /** The caller (or a kill) ends the call: the recorded hangup sequence with `cause`. */
  hangup(call: SimCall, cause = 'NORMAL_CLEARING'): void {
    const c = this.calls.get(call.aUuid);
    if (!c || c.endedAt !== null) return;
    this.clearCallTimers(c);
    c.endedAt = Date.now();
    c.cause = cause;
    this.playCall(c, HANGUP_AT, TPL.call.length, cause);
    this.calls.delete(c.aUuid);
  }

  /** SIP auth failures as FreeSWITCH reports them (register-bruteforce-*, invite-scan-*). */
  authFailure(o: SimAuthFailureOptions): void {
    const scanner = o.kind === 'scanner' || o.kind === 'invite-scan';
    const ua = o.userAgent ?? (scanner ? 'friendly-scanner' : DEFAULT_UA);
    const port = String(o.port ?? 5060);
    const callId = `${randomUUID()}@${o.address}`;
    const dialed = o.dialed ?? '011442079460000';
    const invite = o.kind === 'invite' || o.kind === 'invite-scan';
    const common = { 'network-ip': o.address, 'network-port': port, 'user-agent': ua, 'call-id': callId };
    const who = invite ? { 'to-user': o.username, 'from-user': dialed } : { 'to-user': o.username, 'from-user': o.username };
    this.emitEvent({ ...TPL.preRegister, ...common, ...who, contact: `"" <sip:${o.username}@${o.address}:${port};transport=UDP>` });
    if (o.kind === 'invite-scan') {
      this.emitEvent({ ...TPL.wrongCallState, from_user: o.username, network_ip: o.address, network_port: port });
      return;
    }
    this.emitEvent({ ...TPL.registerAttemptForbidden, ...common, ...who, username: o.username, contact: `"" <sip:${o.username}@${o.address}:${port};transport=UDP>` });
    const failure = invite ? TPL.registerFailureInvite : TPL.registerFailure;
    this.emitEvent({ ...failure, 'network-ip': o.address, 'network-port': port, 'user-agent': ua, 'to-user': invite ? dialed : o.username });
  }

  /** A good REGISTER: pre_register, register_attempt RENEWED, sofia::register. */
  authSuccess(o: { address: string; username: string; userAgent?: string; port?: number }): void {
    const port = String(o.port ?? 5060);
    const common = { 'network-ip': o.address, 'network-port': port, 'user-agent': o.userAgent ?? DEFAULT_UA, 'call-id': `${randomUUID()}@${o.address}`, 'to-user': o.username, 'from-user': o.username };
    this.emitEvent({ ...TPL.preRegister, ...common });
    this.emitEvent({ ...TPL.registerAttemptRenewed, ...common, username: o.username });
    this.emitEvent({ ...TPL.register, ...common, username: o.username });
  }

  private clearCallTimers(c: LiveCall): void {
    if (c.answerTimer) clearTimeout(c.answerTimer);
    if (c.hangupTimer) clearTimeout(c.hangupTimer);
    c.answerTimer = null;
    c.hangupTimer = null;
  }

  private playCall(c: LiveCall, from: number, to: number, cause: string | null): void {
    for (let i = from; i < to; i++) {
      const t = TPL.call[i];
      if (!t) continue;
      // An unanswered call has nothing to unbridge.
      if (c.answeredAt === null && t['Event-Name'] === 'CHANNEL_UNBRIDGE') continue;
      this.emitEvent(callEvent(t, c, cause));
    }
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
    if (this.down) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const id = ++this.connSeq;
    const out = this.watch(socket, id);
    const conn: Conn = { id, socket, out, authed: false, format: 'plain', all: false, names: new Set(), custom: new Set(), filters: [], buf: '', busy: false, held: [] };
    this.conns.add(conn);
    socket.on('error', () => undefined);
    socket.on('close', () => this.conns.delete(conn));
    socket.on('data', (d: Buffer) => this.onData(conn, d));
    if (this.frozen) socket.pause();
    out.write('Content-Type: auth/request\n\n', 'reply');
  }

  private onData(conn: Conn, data: Buffer): void {
    if (this.frozen) return;
    conn.buf += data.toString('utf8');
    this.runCommands(conn);
  }

  /**
   * As mod_event_socket's listener thread: one command at a time, each run to its end
   * (commandMs), and the events queued for the client written only when no command byte
   * waits (read_packet drains the event queue only after a read that found nothing).
   */
  private runCommands(conn: Conn): void {
    while (!conn.busy && !this.frozen) {
      const end = conn.buf.indexOf('\n\n');
      if (end < 0) break;
      const block = conn.buf.slice(0, end);
      conn.buf = conn.buf.slice(end + 2);
      const [first = '', ...rest] = block.split('\n');
      const line = first.trim();
      const headers: Record<string, string> = {};
      for (const h of rest) {
        const i = h.indexOf(': ');
        if (i > 0) headers[h.slice(0, i)] = h.slice(i + 2);
      }
      this.commands.push({ at: Date.now(), connection: conn.id, line, headers });
      const ms = this.opts.commandMs?.(line) ?? 0;
      if (ms > 0) {
        conn.busy = true;
        this.later(ms, () => {
          conn.busy = false;
          this.command(conn, line, headers);
          if (!conn.socket.destroyed) this.runCommands(conn);
        });
        return;
      }
      this.command(conn, line, headers);
      if (conn.socket.destroyed) return;
    }
    if (conn.busy || conn.buf.length > 0) return;
    const held = conn.held;
    conn.held = [];
    for (const f of held) conn.out.write(f);
  }

  private command(conn: Conn, line: string, headers: Record<string, string>): void {
    const sp = line.indexOf(' ');
    const verb = sp < 0 ? line : line.slice(0, sp);
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    if (verb === 'auth') {
      this.authAttempts++;
      if (arg === this.password) {
        conn.authed = true;
        this.reply(conn, '+OK accepted');
      } else {
        this.reply(conn, '-ERR invalid');
        this.writeNotice(conn, DISCONNECT_BYE);
        conn.socket.end();
      }
      return;
    }
    if (!conn.authed) {
      this.reply(conn, '-ERR command not found');
      return;
    }
    switch (verb) {
      case 'event': {
        const [fmt = 'plain', ...names] = arg.split(/\s+/);
        conn.format = fmt === 'json' ? 'json' : 'plain';
        let custom = false;
        for (const n of names) {
          if (n === 'ALL') conn.all = true;
          else if (n === 'CUSTOM') custom = true;
          else if (custom) conn.custom.add(n);
          else conn.names.add(n);
        }
        this.reply(conn, `+OK event listener enabled ${conn.format}`);
        return;
      }
      case 'filter': {
        const sp = arg.indexOf(' ');
        if (sp <= 0) {
          this.reply(conn, '-ERR invalid syntax');
          return;
        }
        const header = arg.slice(0, sp);
        const value = arg.slice(sp + 1).trim();
        conn.filters.push([header, value]);
        this.reply(conn, `+OK filter added. [${header}]=[${value}]`);
        return;
      }
      case 'noevents':
        conn.all = false;
        conn.names.clear();
        conn.custom.clear();
        this.reply(conn, '+OK no longer listening for events');
        return;
      case 'exit':
        this.reply(conn, '+OK bye');
        this.writeNotice(conn, DISCONNECT_BYE);
        conn.socket.end();
        return;
      case 'api': {
        const out = this.api(arg);
        conn.out.write(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(out.body)}\n\n${out.body}`, 'reply');
        out.after?.();
        return;
      }
      case 'bgapi': {
        const job = headers['Job-UUID'] ?? randomUUID();
        conn.out.write(`Content-Type: command/reply\nReply-Text: +OK Job-UUID: ${job}\nJob-UUID: ${job}\n\n`, 'reply');
        const out = this.api(arg);
        const sp2 = arg.indexOf(' ');
        this.emitEvent({
          ...TPL.backgroundJob,
          'Job-UUID': job,
          'Job-Command': sp2 < 0 ? arg : arg.slice(0, sp2),
          ...(sp2 < 0 ? {} : { 'Job-Command-Arg': arg.slice(sp2 + 1) }),
          'Content-Length': String(Buffer.byteLength(out.body)),
          _body: out.body,
        });
        out.after?.();
        return;
      }
      default:
        this.reply(conn, '-ERR command not found');
    }
  }

  private api(arg: string): { body: string; after?: () => void } {
    const sp = arg.indexOf(' ');
    const cmd = sp < 0 ? arg : arg.slice(0, sp);
    const rest = sp < 0 ? '' : arg.slice(sp + 1).trim();
    switch (cmd) {
      case 'status':
        return { body: statusText(this.startedAt, this.calls.size * 2) };
      case 'show':
        if (rest === 'channels as json') return { body: this.channelsJson() };
        return { body: `-ERR ${rest} Command not found!\n` };
      case 'uuid_kill': {
        const [uuid, cause = 'NORMAL_CLEARING'] = rest.split(/\s+/);
        if (!uuid) return { body: '-USAGE: <uuid> [cause]\n' };
        const call = [...this.calls.values()].find((c) => c.aUuid === uuid || c.bUuid === uuid);
        if (!call) return { body: '-ERR No such channel!\n' };
        // The reply comes before the hangup events, as on a real switch.
        return { body: '+OK\n', after: () => this.later(1, () => this.hangup(call, cause)) };
      }
      case 'db':
        return { body: this.dbCommand(rest) };
      case 'list_users':
        return { body: this.listUsers() };
      case 'sofia':
        if (rest === 'status gateway') return { body: this.gatewayStatus() };
        return { body: `-ERR ${rest} Command not found!\n` };
      case 'uuid_getvar':
        return { body: this.getVar(rest) };
      default:
        return { body: `-ERR ${cmd} Command not found!\n` };
    }
  }

  private dbCommand(arg: string): string {
    const [op, family, key, ...value] = arg.split('/');
    // As in api-trunks-db: the realm's keys, comma-separated; an empty realm answers nothing,
    // which mod_event_socket turns into -ERR no reply.
    if (op === 'list' && family) {
      const keys = [...this.db.keys()].filter((k) => k.startsWith(`${family}/`)).map((k) => k.slice(family.length + 1));
      return keys.length > 0 ? keys.join(',') : '-ERR no reply\n';
    }
    if (!family || !key) return '-USAGE: [insert|delete|select]/<realm>/<key>/<val>\n';
    const k = `${family}/${key}`;
    if (op === 'insert' && value.length > 0) {
      this.db.set(k, value.join('/'));
      return '+OK';
    }
    if (op === 'delete') {
      this.db.delete(k);
      return '+OK';
    }
    // mod_event_socket turns an empty api result into this text.
    if (op === 'select') return this.db.get(k) ?? '-ERR no reply\n';
    return '-USAGE: [insert|delete|select]/<realm>/<key>/<val>\n';
  }

  private listUsers(): string {
    const users = this.opts.users ?? ['1001', '1002', '1003'];
    const rows = users.map((u) => `${u}|default|127.0.0.1|default|error/user_not_registered||Extension ${u}|${u}`);
    return ['userid|context|domain|group|contact|callgroup|effective_caller_id_name|effective_caller_id_number', ...rows, '', '+OK', ''].join('\n');
  }

  private gatewayStatus(): string {
    const line = '=================================================================================================';
    const rows = (this.opts.gateways ?? ['uas', 'uas2']).map((g) => `           internal::${g}\t           sip:fs@127.0.0.1:5090\tNOREG\t  0.00\t0/0\t0/0`);
    return ['    Profile::Gateway-Name\t                        Data    \tState\tPing Time\tIB Calls(F/T)\tOB Calls(F/T)', line, ...rows, line, ''].join('\n');
  }

  /** The variables a resync asks of a channel; `_undef_` for anything else, as the switch says. */
  private getVar(arg: string): string {
    const [uuid = '', variable = ''] = arg.split(/\s+/);
    const call = [...this.calls.values()].find((c) => c.aUuid === uuid || c.bUuid === uuid);
    if (!call) return '-ERR No such channel!\n';
    const aLeg = call.aUuid === uuid;
    const values: Record<string, string | null> = aLeg
      ? { sip_auth_username: call.user, user_name: call.user, sip_network_ip: call.source }
      : { sip_gateway_name: call.gateway, dialed_user: call.gateway === null ? call.dialed : null };
    return values[variable] ?? '_undef_';
  }

  private channelsJson(): string {
    const rows: Record<string, EslValue>[] = [];
    for (const c of this.calls.values()) {
      if (!ROW_A || !ROW_B) break;
      const state = c.answeredAt !== null ? 'ACTIVE' : 'RINGING';
      const created = String(Math.floor(c.startedAt / 1000));
      for (const [tpl, uuid] of [[ROW_A, c.aUuid], [ROW_B, c.bUuid]] as const) {
        const row: Record<string, EslValue> = {};
        for (const [k, v] of Object.entries(tpl)) row[k] = typeof v === 'string' ? c.sub(v) : v.map(c.sub);
        row.uuid = uuid;
        row.call_uuid = c.aUuid;
        row.created_epoch = created;
        row.callstate = state;
        if (tpl === ROW_A) row.ip_addr = c.source;
        if (tpl === ROW_A) row.accountcode = c.account;
        rows.push(row);
      }
    }
    if (rows.length === 0) return '{"row_count": 0}\n';
    return JSON.stringify({ row_count: rows.length, rows });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private reply(conn: Conn, text: string): void {
    conn.out.write(`Content-Type: command/reply\nReply-Text: ${text}\n\n`, 'reply');
  }

  private writeNotice(conn: Conn, text: string): void {
    conn.out.write(`Content-Type: text/disconnect-notice\nContent-Length: ${Buffer.byteLength(text)}\n\n${text}`, 'reply');
  }

  private emitEvent(template: Record<string, EslValue>): void {
    const ev = { ...template, 'Event-Sequence': String(++this.eventSeq), 'Event-Date-Timestamp': String(Date.now() * 1000) };
    let json: string | null = null;
    let plain: string | null = null;
    for (const c of this.conns) {
      if (!c.authed || this.frozen || !wants(c, ev)) continue;
      let f: string;
      if (c.format === 'json') f = json ??= frame('text/event-json', JSON.stringify(ev));
      else f = plain ??= frame('text/event-plain', plainBody(ev));
      if (c.busy || c.buf.length > 0) c.held.push(f);
      else c.out.write(f);
    }
  }
}

function wants(c: Conn, ev: Record<string, EslValue>): boolean {
  const name = String(ev['Event-Name'] ?? '');
  const subscribed = c.all || (name === 'CUSTOM' ? c.custom.has(String(ev['Event-Subclass'] ?? '')) : c.names.has(name));
  if (!subscribed || c.filters.length === 0) return subscribed;
  return c.filters.some(([h, v]) => {
    const value = ev[h];
    return typeof value === 'string' && value.toLowerCase() === v.toLowerCase();
  });
}

function frame(type: string, body: string): string {
  return `Content-Length: ${Buffer.byteLength(body)}\nContent-Type: ${type}\n\n${body}`;
}

/** The plain form: url-encoded values; an event body goes after its own Content-Length. */
export function plainBody(ev: Readonly<Record<string, EslValue>>): string {
  let out = '';
  for (const [k, v] of Object.entries(ev)) {
    if (k === '_body' || k === 'Content-Length') continue;
    out += `${k}: ${urlEncode(typeof v === 'string' ? v : 'ARRAY::' + v.join('|:'))}\n`;
  }
  const body = ev._body;
  if (typeof body !== 'string') return out + '\n';
  return `${out}Content-Length: ${Buffer.byteLength(body)}\n\n${body}`;
}

/** One call's substitutions over the recorded call (uuids, numbers, account, gateway). */
function substitution(c: LiveCall): (v: string) => string {
  const map = new Map<string, string>([
    [TPL.callUuids.a, c.aUuid],
    [TPL.callUuids.b, c.bUuid],
    [String(ROW_A?.uuid ?? '-'), c.aUuid],
    [String(ROW_B?.uuid ?? '-'), c.bUuid],
    ['011442079460000', c.dialed],
    ['acct-1001', c.account],
    ['1001', c.user],
    ['sofia/gateway/uas/', c.gateway === null ? 'user/' : `sofia/gateway/${c.gateway}/`],
    ['gw+uas', `gw+${c.gateway ?? ''}`],
    ['gw=uas', `gw=${c.gateway ?? ''}`],
  ]);
  const re = new RegExp([...map.keys()].map((k) => (/^\d+$/.test(k) ? `(?<![0-9])${k}(?![0-9])` : escapeRe(k))).join('|'), 'g');
  return (v) => (v.length > 3 ? v.replace(re, (m) => map.get(m) ?? m) : v);
}

function callEvent(t: EslTemplate, c: LiveCall, cause: string | null): Record<string, EslValue> {
  const ev: Record<string, EslValue> = {};
  for (const [k, v] of Object.entries(t)) ev[k] = typeof v === 'string' ? c.sub(v) : v.map(c.sub);
  if (c.gateway === null) {
    delete ev.variable_sip_gateway_name;
    delete ev.variable_sip_gateway;
    // A `user/` leg names the directory user it rings.
    if (ev['Call-Direction'] === 'outbound') ev.variable_dialed_user = c.dialed;
  } else if (ev.variable_sip_gateway_name !== undefined) {
    ev.variable_sip_gateway_name = c.gateway;
  }
  const aLeg = ev['Call-Direction'] === 'inbound';
  if (aLeg) {
    ev['Caller-Network-Addr'] = c.source;
    if (ev.variable_sip_network_ip !== undefined) ev.variable_sip_network_ip = c.source;
    if (ev.variable_sip_received_ip !== undefined) ev.variable_sip_received_ip = c.source;
  }
  if (cause !== null) {
    for (const k of ['Hangup-Cause', 'variable_hangup_cause', 'variable_bridge_hangup_cause']) if (ev[k] !== undefined) ev[k] = cause;
    if (ev.variable_hangup_cause_q850 !== undefined) ev.variable_hangup_cause_q850 = Q850[cause] ?? '16';
  }
  return ev;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function statusText(startedAt: number, sessions: number): string {
  const up = Date.now() - startedAt;
  const s = Math.floor(up / 1000);
  return (
    `UP 0 years, 0 days, 0 hours, ${Math.floor(s / 60) % 60} minutes, ${s % 60} seconds, ${up % 1000} milliseconds, 0 microseconds\n` +
    'FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready\n' +
    `${sessions} session(s) since startup\n${sessions} session(s) - peak ${sessions}, last 5min ${sessions} \n` +
    '0 session(s) per Sec out of max 100, peak 0, last 5min 0 \n1000 session(s) max\nmin idle cpu 0.00/97.33\nCurrent Stack Size/Max 240K/8192K\n'
  );
}
