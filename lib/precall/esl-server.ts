import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CallOrigin } from '../pbx/events.js';
import { urlDecode } from '../pbx/freeswitch/event.js';
import { EslParser, type EslFrame } from '../pbx/freeswitch/parser.js';
import { scheduledHangup } from './fs-hangup.js';
import { listenTcp, type TcpService } from './listener.js';
import { pbxOf } from './pbx-of.js';
import { formatSeconds, variableText, type PrecallServerDeps } from './request.js';

/** What the outbound event-socket server asks of a FreeSWITCH adapter. */
export interface FreeswitchAsking {
  askingOrigin(get: (name: string) => string | undefined, waitMs: number): Promise<{ origin: CallOrigin; known: boolean }>;
}

const UUID = /^[A-Za-z0-9-]{1,64}$/;
/** The channel data of one call is 5-15 KB. */
const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * The outbound event-socket server of the FreeSWITCH hook (`socket 127.0.0.1:8084[/tollguard/<pbx>]
 * async full`, see dialplan/freeswitch/tollguard.xml): `connect` gives the channel's data; the
 * authorizer's answer goes back as channel variables (tollguard_reason, tollguard_maxseconds,
 * tollguard_verdict, in one uuid_setvar_multi), a limit as a task the switch runs by itself
 * (fs-hangup.ts), then `resume` and `exit` let the dialplan go on. Built on the ESL parser the
 * daemon's own client uses: the outbound protocol is the same framing, url-encoded like the
 * plain event format.
 */
export class EslOutboundServer {
  private service: TcpService | null = null;

  constructor(private readonly deps: PrecallServerDeps<FreeswitchAsking> & { now: () => number }) {}

  async start(listen: string): Promise<number> {
    this.service = await listenTcp(listen, (socket) => void this.serve(socket));
    return this.service.port;
  }

  async stop(): Promise<void> {
    await this.service?.close();
    this.service = null;
  }

  private async serve(socket: net.Socket): Promise<void> {
    const link = new OutboundLink(socket);
    try {
      const data = await link.send('connect');
      const started = performance.now();
      const get = (name: string): string | undefined => {
        const v = data.header(name);
        return v === undefined ? undefined : urlDecode(v);
      };
      const uuid = get('Unique-ID') ?? '';
      const dialed = get('Caller-Destination-Number') ?? '';
      const path = get('variable_socket_path') ?? '';
      const found = pbxOf(this.deps.pbxs(), path.split('/')[1] || null, socket.remoteAddress ?? '');
      if (found === null || !UUID.test(uuid) || dialed === '') {
        const what = found === null
          ? `cannot tell which FreeSWITCH asks (path ${JSON.stringify(path)}, address ${socket.remoteAddress ?? '?'}): name it in the hook, socket host:port/tollguard/<pbx name>`
          : 'the channel data lacks a usable Unique-ID or Caller-Destination-Number';
        this.deps.log.error(`pre-call: ${what}`, { code: 'TG_ERR_PRECALL' });
        this.deps.onFailed?.('esl');
        await link.send('exit').catch(() => undefined);
        socket.end();
        return;
      }
      const { origin, known } = await found.adapter.askingOrigin(get, this.deps.channelWaitMs());
      const answer = this.deps.authorize({ pbx: found.name, via: 'esl', channel: get('Channel-Name') ?? uuid, channelId: uuid, origin, known, dialed });
      const max = answer.maxSeconds === null ? '' : formatSeconds(answer.maxSeconds);
      const api: string[] = [];
      if (answer.verdict === 'allow' && answer.maxSeconds !== null) {
        api.push(scheduledHangup(uuid, this.deps.now(), Math.max(1, Math.floor(answer.maxSeconds * 1000))));
      }
      api.push(`uuid_setvar_multi ${uuid} tollguard_reason=${variableText(answer.reason)};tollguard_maxseconds=${max};tollguard_verdict=${answer.verdict}`);
      // mod_event_socket reads and runs commands one after the other (api inline), so they go in one write.
      const replies = await link.batch([...api.map((c) => `api ${c}`), 'resume', 'exit']);
      replies.slice(0, api.length).forEach((r, i) => {
        const text = r.bodyText().trim();
        if (!text.startsWith('+OK')) throw new Error(`${api[i]!.split(' ', 1)[0]}: ${text.slice(0, 200)}`);
      });
      this.deps.onServed?.(found.name, (performance.now() - started) / 1000);
      // The switch closes its side after its goodbye.
      socket.end();
    } catch (err) {
      this.deps.log.warn('pre-call: FreeSWITCH request not answered; the hook falls back to its flags', { code: 'TG_ERR_PRECALL', error: (err as Error).message });
      this.deps.onFailed?.('esl');
      socket.destroy();
    }
  }
}

/** One outbound connection: commands written, then their reply frames in order. */
class OutboundLink {
  private readonly parser: EslParser;
  private waiting: { want: number; replies: EslFrame[]; resolve: (f: EslFrame[]) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(private readonly socket: net.Socket) {
    this.parser = new EslParser({
      maxBodyBytes: MAX_FRAME_BYTES,
      maxHeaderBytes: MAX_FRAME_BYTES,
      onError: (err, fatal) => {
        if (fatal) this.fail(err);
      },
    });
    socket.on('data', (chunk: Buffer) => this.parser.parse(chunk, (f) => this.frame(f)));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the switch')));
  }

  send(command: string): Promise<EslFrame> {
    return this.batch([command]).then((r) => r[0]!);
  }

  /** Commands written at once; resolves with their replies, in order. */
  batch(commands: string[]): Promise<EslFrame[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { want: commands.length, replies: [], resolve, reject };
      this.socket.write(commands.map((c) => `${c}\n\n`).join(''));
    });
  }

  private frame(f: EslFrame): void {
    // Nothing is subscribed: only replies come (a disconnect notice ends the session).
    if (f.type !== 'command/reply' && f.type !== 'api/response') return;
    const w = this.waiting;
    if (!w) return;
    w.replies.push(f);
    if (w.replies.length < w.want) return;
    this.waiting = null;
    w.resolve(w.replies);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
    this.socket.destroy();
  }
}
