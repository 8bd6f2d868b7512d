import net from 'node:net';
import { urlEncode } from '../../lib/pbx/freeswitch/event.js';

/**
 * The PBX side of the pre-call protocols, as the real ones speak them (res_agi's FastAGI;
 * mod_event_socket's outbound `socket` application), for the tests and the bench: each
 * connects, says what the channel is, answers every command and returns what it was told.
 */

export interface AgiExchange {
  /** The command lines tollguard sent, in order. */
  commands: string[];
  /** Channel variables as they would be set (SET VARIABLE name "value"). */
  vars: Map<string, string>;
  /** SET AUTOHANGUP's argument, if sent. */
  autohangup: string | null;
  /** The connection ended without a verdict set. */
  unanswered: boolean;
}

export interface AgiAsk {
  port: number;
  uniqueid?: string;
  channel?: string;
  accountcode?: string;
  callerId?: string;
  script?: string;
  args: string[];
  /** Hang the channel up after this many commands (res_agi then sends HANGUP). */
  hangupAfter?: number;
  /** Write the environment one byte at a time. */
  trickle?: boolean;
  /** An Asterisk without the MSet application (EXEC MSet answers result=-2). */
  noMSet?: boolean;
}

/** One FastAGI request, as Asterisk makes it. */
export function agiAsk(o: AgiAsk): Promise<AgiExchange> {
  const env = [
    'agi_network: yes',
    `agi_network_script: ${o.script ?? 'tollguard'}`,
    `agi_request: agi://127.0.0.1:${o.port}/${o.script ?? 'tollguard'}`,
    `agi_channel: ${o.channel ?? 'PJSIP/1001-00000001'}`,
    'agi_language: en',
    'agi_type: PJSIP',
    `agi_uniqueid: ${o.uniqueid ?? '1795527952.1'}`,
    'agi_version: 22.10.1',
    `agi_callerid: ${o.callerId ?? '1001'}`,
    'agi_calleridname: 1001',
    'agi_callingpres: 0',
    'agi_callingani2: 0',
    'agi_callington: 0',
    'agi_callingtns: 0',
    'agi_dnid: unknown',
    'agi_rdnis: unknown',
    'agi_context: tollguard-check',
    'agi_extension: tg-ask',
    'agi_priority: 3',
    'agi_enhanced: 0.0',
    `agi_accountcode: ${o.accountcode ?? ''}`,
    'agi_threadid: 140179632854720',
    ...o.args.map((a, i) => `agi_arg_${i + 1}: ${a}`),
  ].join('\n') + '\n\n';
  return new Promise((resolve, reject) => {
    const out: AgiExchange = { commands: [], vars: new Map(), autohangup: null, unanswered: true };
    const socket = net.connect(o.port, '127.0.0.1');
    socket.setNoDelay(true);
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      if (!o.trickle) {
        socket.write(env);
        return;
      }
      let i = 0;
      const next = (): void => {
        if (i < env.length) socket.write(env[i++]!, next);
      };
      next();
    });
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        out.commands.push(line);
        if (o.hangupAfter !== undefined && out.commands.length > o.hangupAfter) {
          socket.end('HANGUP\n');
          continue;
        }
        const argv = agiArgv(line);
        const set = (name: string, value: string): void => {
          out.vars.set(name, value);
          if (name === 'TOLLGUARD_VERDICT') out.unanswered = false;
        };
        if (argv[0] === 'SET' && argv[1] === 'VARIABLE' && argv.length === 4) set(argv[2]!, argv[3]!);
        if (argv[0] === 'SET' && argv[1] === 'AUTOHANGUP') out.autohangup = argv[2] ?? null;
        if (argv[0] === 'EXEC') {
          // pbx_exec's return: 0 from MSet, -2 for an application Asterisk does not have.
          if (argv[1]?.toLowerCase() !== 'mset' || o.noMSet) {
            socket.write('200 result=-2\n');
            continue;
          }
          for (const pair of appArgs(argv[2] ?? '', ',', true)) {
            const [name, value] = appArgs(pair, '=', false, 2);
            if (name !== undefined && value !== undefined) set(name, value);
          }
          socket.write('200 result=0\n');
          continue;
        }
        socket.write('200 result=1\n');
      }
    });
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

/** An AGI command line split as res_agi's parse_args does: at blanks outside double quotes, quotes dropped, a backslash taking the next character as it is. */
export function agiArgv(line: string): string[] {
  const argv: string[] = [];
  let cur = '';
  let started = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      started = true;
    } else if (c === '"') {
      quoted = !quoted;
      started = true;
    } else if ((c === ' ' || c === '\t') && !quoted) {
      if (started) argv.push(cur);
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (started) argv.push(cur);
  return argv;
}

/**
 * An application's argument split as Asterisk's app.c separate_args does: at `delim` outside
 * parentheses, brackets and double quotes; with `remove` (AST_STANDARD_APP_ARGS) quotes and
 * backslashes are dropped, a backslash keeping the next character literal; past `max - 1`
 * splits the rest is the last part.
 */
export function appArgs(data: string, delim: string, remove: boolean, max = 99): string[] {
  const out: string[] = [];
  let cur = '';
  let paren = 0;
  let bracket = 0;
  let quote = false;
  let i = 0;
  for (; i < data.length && out.length < max - 1; i++) {
    const c = data[i]!;
    if (c === '(') paren++;
    else if (c === ')') paren = Math.max(0, paren - 1);
    else if (c === '[') bracket++;
    else if (c === ']') bracket = Math.max(0, bracket - 1);
    else if (c === '"' && delim !== '"') {
      quote = !quote;
      if (remove) continue;
    } else if (c === '\\') {
      if (remove) {
        if (i + 1 < data.length) cur += data[++i];
        continue;
      }
      cur += c;
      if (i + 1 < data.length) cur += data[++i];
      continue;
    } else if (c === delim && paren === 0 && bracket === 0 && !quote) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (i < data.length || cur !== '' || data.endsWith(delim)) out.push(cur + data.slice(i));
  return out;
}

export interface FsExchange {
  /** Commands tollguard sent after `connect`, in order. */
  commands: string[];
  /** Variables set by uuid_setvar_multi. */
  vars: Map<string, string>;
  sched: string | null;
}

/** Channel data as FreeSWITCH 1.10 sends it with the `connect` reply (a subset of its ~200 headers). */
export function channelData(o: { uuid: string; dialed: string; user?: string | null; accountcode?: string | null; path?: string; fromUser?: string; source?: string }): [string, string][] {
  const h: [string, string][] = [
    ['Event-Name', 'CHANNEL_DATA'],
    ['Channel-State', 'CS_EXECUTE'],
    ['Channel-Name', `sofia/internal/${o.user ?? o.fromUser ?? 'unknown'}@127.0.0.1`],
    ['Unique-ID', o.uuid],
    ['Call-Direction', 'inbound'],
    ['Answer-State', 'ringing'],
    ['Caller-Username', o.fromUser ?? o.user ?? ''],
    ['Caller-Caller-ID-Number', o.fromUser ?? o.user ?? ''],
    ['Caller-Network-Addr', o.source ?? '127.0.0.1'],
    ['Caller-Destination-Number', o.dialed],
    ['Caller-Context', 'default'],
    ['variable_sip_from_user', o.fromUser ?? o.user ?? ''],
    ['variable_sip_network_ip', o.source ?? '127.0.0.1'],
    ['variable_socket_host', '127.0.0.1'],
  ];
  if (o.user) h.push(['variable_sip_auth_username', o.user], ['variable_user_name', o.user]);
  if (o.accountcode) h.push(['variable_accountcode', o.accountcode]);
  if (o.path) h.push(['variable_socket_path', o.path]);
  return h;
}

/** One `socket host:port async full` from the dialplan, as mod_event_socket makes it. */
export function fsAsk(port: number, data: [string, string][]): Promise<FsExchange> {
  return new Promise((resolve, reject) => {
    const out: FsExchange = { commands: [], vars: new Map(), sched: null };
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    let buf = '';
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const cmd = buf.slice(0, end);
        buf = buf.slice(end + 2);
        if (cmd === 'connect') {
          const headers = [...data, ['Content-Type', 'command/reply'], ['Reply-Text', '+OK\n'], ['Socket-Mode', 'async'], ['Control', 'full']];
          socket.write(headers.map(([k, v]) => `${k}: ${urlEncode(v!)}`).join('\n') + '\n\n');
          continue;
        }
        out.commands.push(cmd);
        if (cmd.startsWith('api ')) {
          const multi = /^api uuid_setvar_multi \S+ (.*)$/.exec(cmd);
          if (multi) for (const kv of multi[1]!.split(';')) out.vars.set(kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1));
          if (cmd.startsWith('api sched_api ')) out.sched = cmd.slice(4);
          const body = cmd.startsWith('api sched_api ') ? '+OK Added: 7\n' : '+OK\n';
          socket.write(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`);
        } else if (cmd === 'exit') {
          socket.write('Content-Type: command/reply\nReply-Text: +OK bye\n\n');
          const bye = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';
          socket.end(`Content-Type: text/disconnect-notice\nContent-Length: ${Buffer.byteLength(bye)}\n\n${bye}`);
        } else {
          socket.write('Content-Type: command/reply\nReply-Text: +OK\n\n');
        }
      }
    });
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}
