import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CallOrigin } from '../pbx/events.js';
import { AgiConnection, agiQuote, agiValue, msetArgs, type AgiEnv } from './agi.js';
import { listenTcp, type TcpService } from './listener.js';
import { pbxOf } from './pbx-of.js';
import { formatSeconds, variableText, type PrecallAnswer, type PrecallServerDeps } from './request.js';

/** What the AGI server asks of an Asterisk adapter. */
export interface AsteriskAsking {
  askingOrigin(q: { uniqueid: string; channel: string; accountcode: string | null; callerId: string | null }, waitMs: number): Promise<{ origin: CallOrigin; known: boolean }>;
}

/**
 * The FastAGI server of the Asterisk hook (`AGI(agi://127.0.0.1:4573/tollguard[/<pbx>],
 * <number>,<guard>,<prior timeout>)`, see dialplan/asterisk/tollguard.conf): reads the channel's
 * environment, asks the authorizer, and sets on the channel the channel's absolute timeout
 * (`SET AUTOHANGUP`: Asterisk ends the call at the limit by itself, whatever becomes of
 * tollguard), then TOLLGUARD_REASON, TOLLGUARD_MAXSECONDS and last TOLLGUARD_VERDICT in one
 * `EXEC MSet`, so that a verdict present means everything else is set.
 */
export class AgiServer {
  private service: TcpService | null = null;

  constructor(private readonly deps: PrecallServerDeps<AsteriskAsking>) {}

  async start(listen: string): Promise<number> {
    this.service = await listenTcp(listen, (socket) => void this.serve(socket));
    return this.service.port;
  }

  async stop(): Promise<void> {
    await this.service?.close();
    this.service = null;
  }

  private async serve(socket: net.Socket): Promise<void> {
    const conn = new AgiConnection(socket);
    try {
      const env = await conn.environment();
      const started = performance.now();
      const ask = this.request(env, socket.remoteAddress ?? '');
      if (ask === null) {
        socket.destroy();
        return;
      }
      const { pbx, adapter, q, guard, prior, byDial } = ask;
      const { origin, known } = await adapter.askingOrigin(q, this.deps.channelWaitMs());
      const answer = this.deps.authorize({ pbx, via: 'agi', channel: q.channel, channelId: q.uniqueid, origin, known, dialed: ask.dialed });
      // The limit before the verdict: a verdict present means the channel's timeout is set.
      const hangupIn = autohangup(answer, { guard, prior, byDial });
      if (hangupIn !== null) {
        const r = await conn.command(`SET AUTOHANGUP ${hangupIn}`);
        if (r.code !== 200) throw new Error(`SET AUTOHANGUP refused: ${r.text}`);
      }
      // One round trip for the three variables (res_agi takes one command per round trip); MSet sets them in this order.
      const r = await conn.command(`EXEC MSet ${agiQuote(msetArgs([
        ['TOLLGUARD_REASON', variableText(answer.reason)],
        ['TOLLGUARD_MAXSECONDS', answer.maxSeconds === null ? '' : formatSeconds(answer.maxSeconds)],
        ['TOLLGUARD_VERDICT', answer.verdict],
      ]))}`);
      if (r.code !== 200 || r.result !== '0') throw new Error(`EXEC MSet refused: ${r.text}`);
      this.deps.onServed?.(pbx, (performance.now() - started) / 1000);
      socket.end();
    } catch (err) {
      this.deps.log.warn('pre-call: AGI request not answered; the hook falls back to its flags', { code: 'TG_ERR_PRECALL', error: (err as Error).message });
      this.deps.onFailed?.('agi');
      socket.destroy();
    }
  }

  private request(env: AgiEnv, peer: string): {
    pbx: string; adapter: AsteriskAsking; dialed: string; guard: boolean; prior: number; byDial: boolean;
    q: { uniqueid: string; channel: string; accountcode: string | null; callerId: string | null };
  } | null {
    const script = agiValue(env, 'agi_network_script') ?? '';
    const named = script.split('/')[1] || null;
    const found = pbxOf(this.deps.pbxs(), named, peer);
    const uniqueid = agiValue(env, 'agi_uniqueid');
    const channel = agiValue(env, 'agi_channel');
    const dialed = agiValue(env, 'agi_arg_1') ?? agiValue(env, 'agi_extension');
    if (found === null || uniqueid === null || channel === null || dialed === null) {
      const what = found === null
        ? `cannot tell which Asterisk asks (${named ? `no PBX named ${named}` : `address ${peer}`}): name it in the hook's URL, agi://host:port/tollguard/<pbx name>`
        : 'the request lacks agi_uniqueid, agi_channel or the number (agi_arg_1)';
      this.deps.log.error(`pre-call: ${what}`, { code: 'TG_ERR_PRECALL', script, peer });
      this.deps.onFailed?.('agi');
      return null;
    }
    const prior = Number(agiValue(env, 'agi_arg_3') ?? '0');
    return {
      pbx: found.name, adapter: found.adapter, dialed,
      guard: agiValue(env, 'agi_arg_2') === '1', prior: Number.isFinite(prior) && prior > 0 ? prior : 0, byDial: agiValue(env, 'agi_arg_4') === 'dial',
      q: { uniqueid, channel, accountcode: agiValue(env, 'agi_accountcode'), callerId: agiValue(env, 'agi_callerid') },
    };
  }
}

/**
 * The channel's absolute timeout to set, in seconds, or null to leave it alone: the call's
 * limit (unless the hook was called with `dial`: the Dial line's S() counts it from the
 * answer); else, when the hook armed its wait guard (TIMEOUT(absolute)), the timeout the
 * channel had before the hook (0 = none). A limit never outlasts a timeout the dialplan had set.
 */
export function autohangup(answer: PrecallAnswer, hook: { guard: boolean; prior: number; byDial: boolean }): string | null {
  const { guard, prior } = hook;
  if (answer.verdict === 'allow' && answer.maxSeconds !== null && !hook.byDial) {
    // Never 0: SET AUTOHANGUP 0 would remove the timeout.
    return formatSeconds(Math.max(0.001, prior > 0 ? Math.min(prior, answer.maxSeconds) : answer.maxSeconds));
  }
  return guard ? (prior > 0 ? formatSeconds(prior) : '0') : null;
}
