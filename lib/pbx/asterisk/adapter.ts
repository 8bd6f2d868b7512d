import type { Clock } from '../../clock.js';
import type { AsteriskPbxConfig, LinkTiming } from '../../config/types.js';
import { LinkLayer, type LinkControl } from '../../net/link.js';
import type { Logger } from '../../notify/logger.js';
import { fail, ok, TollguardError, type Result } from '../../result.js';
import type { PbxAdapter } from '../adapter.js';
import { ChannelWaiters } from '../channel-waiters.js';
import type { CallOrigin, CallRef, HangupCauseCode, PbxEvent } from '../events.js';
import { AmiClient } from './client.js';
import { TrunkSet } from '../trunks.js';
import { LocalPhones } from './endpoints.js';
import { AmiEventMapper, MAPPED_EVENTS, SKIPPED_EVENTS } from './mapper.js';
import type { AmiMessage } from './message.js';
import { parseHostPort } from './names.js';
import { adoptSnapshot, phoneCallers } from './snapshot.js';

/** Events held while a resync runs; past this the resync is abandoned and retried. */
const MAX_HELD_EVENTS = 100_000;
/** A CoreShowChannels answer on a busy PBX (thousands of channels) takes more than one action's time. */
const RESYNC_TIMEOUT_FACTOR = 4;

/**
 * Asterisk over AMI. After every (re)connect: login, then a resync (CoreShowChannels ->
 * one CallsResynced), and only then `ready`; events that arrive meanwhile are held and
 * applied on top of the snapshot, so the daemon never acts on a half-known call table.
 */
export class AsteriskAdapter extends LinkLayer implements PbxAdapter {
  readonly name: string;
  readonly type = 'asterisk' as const;
  private readonly client: AmiClient;
  private readonly mapper: AmiEventMapper;
  private readonly trunks: TrunkSet;
  private readonly phones: LocalPhones;
  /** What the last connect found wrong with this PBX's setup (a configured trunk it lacks). */
  private setupWarnings: string[] = [];
  private readonly listeners: ((e: PbxEvent) => void)[] = [];
  /** null = live (events mapped at once); an array = a resync is running, events wait here. */
  private held: AmiMessage[] | null = [];
  private heldOverflow = false;
  private readonly waiters: ChannelWaiters;
  /** Whether this Asterisk has func_timeout, asked at every connect; null until asked. */
  private timeoutFunction: boolean | null = null;

  constructor(
    private readonly cfg: AsteriskPbxConfig,
    private readonly timing: LinkTiming,
    private readonly deps: { clock: Clock; log: Logger },
  ) {
    super();
    this.name = cfg.name;
    this.trunks = new TrunkSet(cfg.trunks);
    this.phones = new LocalPhones(this.trunks);
    this.waiters = new ChannelWaiters(deps.clock);
    this.mapper = new AmiEventMapper({
      pbx: cfg.name,
      trunks: this.trunks,
      phones: this.phones,
      inboundAccount: cfg.inboundAccount,
      originateAccount: cfg.originateAccount,
      amiUsername: cfg.username,
      clock: deps.clock,
      log: deps.log,
      emit: (e) => this.emit(e),
    });
    this.client = new AmiClient({
      name: cfg.name,
      host: cfg.host,
      port: cfg.port,
      username: cfg.username,
      secret: cfg.secret,
      timing,
      clock: deps.clock,
      log: deps.log,
      skipEvents: SKIPPED_EVENTS,
      afterLogin: () => this.resync(),
    });
    this.client.onEvent((m) => this.onAmiEvent(m));
    this.client.onStatus((s) => {
      if (s !== 'ready' && s !== 'resyncing' && s !== 'authenticating') this.hold();
    });
  }

  protected get inner(): LinkControl {
    return this.client;
  }

  onEvent(listener: (e: PbxEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * `Action: Hangup` with a Q.850 cause. Sent only on a ready link and never queued: after a
   * reconnect the daemon decides again from the resync. A channel that is already gone
   * (`No such channel`) is success. A name starting with `/` would be taken as a regex by
   * Asterisk and could hang up other calls, so it is refused.
   */
  /**
   * Actions may be sent once logged in: during the resync too, because the daemon cuts the
   * forbidden calls the resync finds before the link is declared ready.
   */
  private loggedIn(): boolean {
    const s = this.client.status();
    return s === 'ready' || s === 'resyncing';
  }

  async hangup(call: CallRef, cause: HangupCauseCode): Promise<Result<void>> {
    if (call.channel.startsWith('/') || call.channel.length === 0) {
      return fail('TG_ERR_PBX_REJECTED', `refusing to hang up channel ${JSON.stringify(call.channel)}: not a channel name`);
    }
    if (!this.loggedIn()) return fail('TG_ERR_PBX_CLOSED', `${this.name}: link not ready (${this.client.status()})`);
    const r = await this.client.action([
      ['Action', 'Hangup'],
      ['Channel', call.channel],
      ['Cause', cause],
    ]);
    if (r.ok || isRejectedWith(r.error, /^No such channel/i)) return ok(undefined);
    return r;
  }

  /** AstDB: DBPut, or DBDel for null (deleting a key that is not there is success). */
  async setFlag(family: string, key: string, value: string | null): Promise<Result<void>> {
    if (!this.loggedIn()) return fail('TG_ERR_PBX_CLOSED', `${this.name}: link not ready (${this.client.status()})`);
    const r =
      value === null
        ? await this.client.action([['Action', 'DBDel'], ['Family', family], ['Key', key]])
        : await this.client.action([['Action', 'DBPut'], ['Family', family], ['Key', key], ['Val', value]]);
    if (r.ok || (value === null && isRejectedWith(r.error, /could not be deleted|not found/i))) return ok(undefined);
    return r;
  }

  /** AstDB: DBGetTree of the family; its keys come back as `/family/key`. */
  async listFlags(family: string): Promise<Result<Map<string, string>>> {
    if (!this.loggedIn()) return fail('TG_ERR_PBX_CLOSED', `${this.name}: link not ready (${this.client.status()})`);
    const r = await this.client.actionList([['Action', 'DBGetTree'], ['Family', family]]);
    if (!r.ok) return r;
    const prefix = `/${family}/`;
    const flags = new Map<string, string>();
    for (const item of r.value.items) {
      const key = item.get('Key') ?? '';
      if (item.event === 'DBGetTreeResponse' && key.startsWith(prefix)) flags.set(key.slice(prefix.length), item.get('Val') ?? '');
    }
    return ok(flags);
  }

  /**
   * Who places a dial from a channel asking the pre-call server now: the live path's rules
   * (ChannelBook.originOf, as at its DialBegin) applied to the channel as this adapter tracks
   * it, with the accountcode the channel has at the request (the dialplan may have set it).
   * A channel not seen yet is waited for briefly, then judged from its name alone.
   */
  async askingOrigin(q: { uniqueid: string; channel: string; accountcode: string | null; callerId: string | null }, waitMs: number): Promise<{ origin: CallOrigin; known: boolean }> {
    const book = this.mapper.channels;
    if (!book.get(q.uniqueid) && this.client.status() === 'ready') await this.waiters.wait(q.uniqueid, waitMs);
    const seen = book.get(q.uniqueid);
    // Not seen: a trunk's channel running the dialplan is a carrier's call (it came in ringing).
    const c = seen ?? book.create(q.uniqueid, q.channel, q.uniqueid, '4');
    return { origin: book.originOf({ ...c, accountcode: q.accountcode, callerId: c.callerId ?? q.callerId }), known: seen !== undefined };
  }

  private onAmiEvent(m: AmiMessage): void {
    if (m.event === null || !MAPPED_EVENTS.has(m.event)) return;
    if (this.held === null) {
      this.mapper.handle(m);
      if (m.event === 'Newchannel') this.waiters.seen(m.get('Uniqueid') ?? '');
      return;
    }
    if (this.held.length >= MAX_HELD_EVENTS) {
      this.heldOverflow = true;
      return;
    }
    this.held.push(m);
  }

  private hold(): void {
    this.held = [];
    this.heldOverflow = false;
  }

  /** Problems the last connect found in this PBX's setup (status, health). */
  warnings(): string[] {
    return this.setupWarnings;
  }

  private async resync(): Promise<void> {
    if (this.held === null) this.hold();
    await this.checkEndpoints();
    await this.checkTimeoutFunction();
    const r = await this.client.actionList([['Action', 'CoreShowChannels']], {
      timeoutMs: this.timing.actionTimeoutMs * RESYNC_TIMEOUT_FACTOR,
    });
    if (!r.ok) throw r.error;
    const sources = await this.sourcesOf(phoneCallers(r.value.items), r.value.items);
    if (this.heldOverflow) {
      throw new TollguardError('TG_ERR_PBX_OVERLOAD', `${this.name}: more than ${MAX_HELD_EVENTS} events during the resync; retrying`);
    }
    const calls = adoptSnapshot(this.mapper.channels, r.value.items, this.deps.clock.now(), { pbx: this.name, trunks: this.trunks, sources });
    this.emit({ kind: 'CallsResynced', pbx: this.name, at: this.deps.clock.now(), calls });
    const held = this.held ?? [];
    this.held = null;
    for (const m of held) {
      this.mapper.handle(m);
      if (m.event === 'Newchannel') this.waiters.seen(m.get('Uniqueid') ?? '');
    }
    this.deps.log.info('AMI resync done', { pbx: this.name, calls: calls.length, channels: r.value.items.length, heldEvents: held.length });
  }

  /**
   * Which PJSIP endpoints this Asterisk has: a dial is internal only when it rings one of them
   * that is not a trunk, and a configured trunk it lacks is a setup error said loudly (a typo
   * there would otherwise look like a quiet PBX).
   */
  private async checkEndpoints(): Promise<void> {
    const r = await this.client.actionList([['Action', 'PJSIPShowEndpoints']], { timeoutMs: this.timing.actionTimeoutMs * RESYNC_TIMEOUT_FACTOR });
    const warnings: string[] = [];
    if (!r.ok) {
      this.phones.set(null);
      warnings.push(`cannot list the PJSIP endpoints (${r.error.message}): every dial is judged as leaving the PBX`);
    } else {
      this.phones.set(r.value.items.filter((m) => m.event === 'EndpointList' && (m.get('ObjectName') ?? '') !== '')
        .map((m) => ({ name: m.get('ObjectName')!, auths: m.get('Auths') ?? '' })));
      const missing = this.phones.missingTrunks();
      const trunkLike = this.phones.unlistedTrunkLike();
      if (missing.length) {
        warnings.push(`configured trunk${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found among the PBX's PJSIP endpoints (${this.phones.list().join(', ')})` +
          `${trunkLike.length ? `; ${trunkLike.join(', ')} ${trunkLike.length > 1 ? 'have' : 'has'} no inbound authentication and ${trunkLike.length > 1 ? 'are' : 'is'} judged as a trunk` : ''}: calls through any trunk are still judged as external`);
      } else if (trunkLike.length) {
        this.deps.log.info(`${this.name}: endpoints without inbound authentication are judged as trunks (dials to them are external)`, { pbx: this.name, endpoints: trunkLike });
      }
      if (this.trunks.size === 0) warnings.push('no trunks configured: every dial to something that is not a known phone is judged as external');
    }
    for (const w of warnings) if (!this.setupWarnings.includes(w)) this.deps.log.warn(`${this.name}: ${w}`, { pbx: this.name, code: 'TG_ERR_UNKNOWN_TRUNK' });
    this.setupWarnings = warnings;
  }

  /**
   * Whether the pre-call hook can bound its wait for tollguard: it does so with
   * TIMEOUT(absolute), which func_timeout provides (a standard module, but a minimal build may
   * lack it). Without it the hook waits for tollguard's answer as long as the caller does.
   */
  hasTimeoutFunction(): boolean | null {
    return this.timeoutFunction;
  }

  private async checkTimeoutFunction(): Promise<void> {
    const r = await this.client.action([['Action', 'ModuleCheck'], ['Module', 'func_timeout']]);
    const had = this.timeoutFunction;
    this.timeoutFunction = r.ok;
    if (!r.ok && had !== false) {
      this.deps.log.warn(`${this.name}: Asterisk has no func_timeout (ModuleCheck: ${r.error.message}): the pre-call hook cannot bound its wait for tollguard, and calls wait for its answer instead of falling back after precall.timeout`, { pbx: this.name });
    }
  }

  /**
   * A PJSIP caller's socket address, asked for each phone channel (`CHANNEL(pjsip,remote_addr)`).
   * Best effort: a channel that has gone keeps no source.
   */
  private async sourcesOf(channels: string[], items: readonly AmiMessage[]): Promise<Map<string, string>> {
    const ids = new Map(items.map((m) => [m.get('Channel') ?? '', m.get('Uniqueid') ?? '']));
    const out = new Map<string, string>();
    await Promise.all(
      channels.map(async (channel) => {
        const r = await this.client.action([['Action', 'Getvar'], ['Channel', channel], ['Variable', 'CHANNEL(pjsip,remote_addr)']]);
        const address = r.ok ? parseHostPort(r.value.get('Value') ?? '')?.address : undefined;
        if (address) out.set(ids.get(channel)!, address);
      }),
    );
    return out;
  }

  private emit(e: PbxEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        // A listener's bug must not cost the rest of this chunk's events or the link.
        this.deps.log.error('PBX event listener threw', { pbx: this.name, kind: e.kind, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
    }
  }
}

function isRejectedWith(e: TollguardError, pattern: RegExp): boolean {
  const message = e.detail?.message;
  return e.code === 'TG_ERR_PBX_REJECTED' && typeof message === 'string' && pattern.test(message);
}
