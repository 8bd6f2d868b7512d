import type { Clock } from '../../clock.js';
import type { FreeswitchPbxConfig, LinkTiming } from '../../config/types.js';
import { LinkLayer, type LinkControl } from '../../net/link.js';
import type { Logger } from '../../notify/logger.js';
import { fail, ok, type Result } from '../../result.js';
import type { PbxAdapter } from '../adapter.js';
import { ChannelWaiters } from '../channel-waiters.js';
import type { CallOrigin, CallRef, HangupCauseCode, PbxEvent } from '../events.js';
import { TrunkSet } from '../trunks.js';
import { EslClient } from './client.js';
import { FsChannelBook } from './channels.js';
import { FsDirectory, parseGateways, parseListUsers } from './directory.js';
import type { EslEvent } from './event.js';
import { ESL_CUSTOM, ESL_EVENTS, ESL_FILTERS, FreeswitchEventMapper } from './mapper.js';
import { adoptChannels } from './snapshot.js';

/** Q.850 cause -> the name uuid_kill takes (switch_channel_str2cause). */
const CAUSE_NAMES: Record<HangupCauseCode, string> = {
  16: 'NORMAL_CLEARING',
  21: 'CALL_REJECTED',
  52: 'OUTGOING_CALL_BARRED',
};

const UUID = /^[A-Za-z0-9-]{1,64}$/;
const DB_PART = /^[^\s/]{1,200}$/;
/** What mod_event_socket sends for an api command that answered nothing. */
const EMPTY_API_ANSWER = '-ERR no reply';
/** Events held while the resync's `show channels` is in flight (a setup burst is ~600/s). */
const MAX_HELD_EVENTS = 20_000;

/**
 * The FreeSWITCH adapter: an EslClient (login, subscription, keep-alive, reconnect) feeding
 * a FreeswitchEventMapper. After every (re)connect it loads `show channels as json` before
 * the link is ready; events that arrive meanwhile are held and replayed after the snapshot
 * (the mapper emits each thing once, so what the snapshot already holds is not repeated).
 */
export class FreeswitchAdapter extends LinkLayer implements PbxAdapter {
  readonly name: string;
  readonly type = 'freeswitch' as const;
  private readonly client: EslClient;
  private readonly mapper: FreeswitchEventMapper;
  private readonly trunks: TrunkSet;
  private readonly directory: FsDirectory;
  /** What the last connect found wrong with this switch's setup (a configured gateway it lacks). */
  private setupWarnings: string[] = [];
  private readonly listeners: ((e: PbxEvent) => void)[] = [];
  private held: EslEvent[] | null = null;
  private heldDropped = 0;
  private readonly waiters: ChannelWaiters;

  constructor(private readonly cfg: FreeswitchPbxConfig, timing: LinkTiming, private readonly deps: { clock: Clock; log: Logger }) {
    super();
    this.name = cfg.name;
    this.trunks = new TrunkSet(cfg.trunks);
    this.directory = new FsDirectory(this.trunks);
    this.waiters = new ChannelWaiters(deps.clock);
    this.mapper = new FreeswitchEventMapper({
      pbx: cfg.name,
      trunks: this.trunks,
      trunkAddresses: cfg.trunkAddresses,
      directory: this.directory,
      inboundAccount: cfg.inboundAccount,
      originateAccount: cfg.originateAccount,
      clock: deps.clock,
      log: deps.log,
    });
    this.client = new EslClient({
      name: cfg.name,
      host: cfg.host,
      port: cfg.port,
      password: cfg.password,
      timing,
      subscription: { format: cfg.eventFormat, events: [...ESL_EVENTS], custom: [...ESL_CUSTOM], filters: ESL_FILTERS },
      clock: deps.clock,
      log: deps.log,
      onEvent: (ev) => this.onEslEvent(ev),
      resync: (client) => this.resync(client),
    });
    // Events of a new link are held from its first byte until its snapshot is taken; those
    // of a link that died before its resync describe a past that the next snapshot replaces.
    this.client.onStatus((s) => {
      if (s === 'connecting') this.held = null;
    });
  }

  protected get inner(): LinkControl {
    return this.client;
  }

  onEvent(listener: (e: PbxEvent) => void): void {
    this.listeners.push(listener);
  }

  /** When the switch's last HEARTBEAT arrived (for status pages), or null. */
  heartbeatAt(): number | null {
    return this.mapper.heartbeatAt();
  }

  async hangup(call: CallRef, cause: HangupCauseCode): Promise<Result<void>> {
    if (!UUID.test(call.channel)) return fail('TG_ERR_PBX_REJECTED', `not a FreeSWITCH uuid: ${JSON.stringify(call.channel.slice(0, 80))}`);
    const name = CAUSE_NAMES[cause];
    const r = await this.client.api(`uuid_kill ${call.channel} ${name}`);
    if (!r.ok) return r;
    const text = r.value.trim();
    if (text.startsWith('+OK')) return ok(undefined);
    // Already gone: the goal (the call is down) holds.
    if (text === '-ERR No such channel!') return ok(undefined);
    return fail('TG_ERR_PBX_REJECTED', `uuid_kill ${call.channel}: ${text}`, { callId: call.callId });
  }

  async setFlag(family: string, flagKey: string, value: string | null): Promise<Result<void>> {
    // mod_db splits its argument at every `/`, so the hooks' keys use `:` (docs/dialplan.md).
    const key = flagKey.replaceAll('/', ':');
    for (const [what, part] of [['family', family], ['key', key], ['value', value]] as const) {
      if (part !== null && !DB_PART.test(part)) return fail('TG_ERR_PBX_REJECTED', `db ${what} must be 1-200 characters without "/" or whitespace`);
    }
    // `db list` joins the keys with commas: a key holding one could not be read back.
    if (key.includes(',')) return fail('TG_ERR_PBX_REJECTED', 'db key must not contain ","');
    const cmd = value === null ? `db delete/${family}/${key}` : `db insert/${family}/${key}/${value}`;
    const r = await this.client.api(cmd);
    if (!r.ok) return r;
    const text = r.value.trim();
    return text.startsWith('+OK') ? ok(undefined) : fail('TG_ERR_PBX_REJECTED', `${cmd.split('/', 1)[0]}: ${text}`);
  }

  async listFlags(family: string): Promise<Result<Map<string, string>>> {
    if (!DB_PART.test(family)) return fail('TG_ERR_PBX_REJECTED', 'db family must be 1-200 characters without "/" or whitespace');
    // `db list/<realm>` names the realm's keys, comma-separated, and an empty realm is
    // mod_event_socket's `-ERR no reply` (FreeSWITCH 1.10.12, api-trunks-db); each value is one
    // `select` (`-ERR no reply` too for a key gone meanwhile).
    const listed = await this.client.api(`db list/${family}`);
    if (!listed.ok) return listed;
    const body = listed.value.trim();
    if (body === EMPTY_API_ANSWER) return ok(new Map());
    if (body.startsWith('-') || body.startsWith('!')) return fail('TG_ERR_PBX_REJECTED', `db list/${family}: ${body}`);
    const keys = body.split(',').map((k) => k.trim()).filter((k) => DB_PART.test(k));
    const out = new Map<string, string>();
    for (const key of keys) {
      const v = await this.client.api(`db select/${family}/${key}`);
      if (!v.ok) return v;
      const value = v.value.trim();
      if (value !== '' && !value.startsWith('-ERR')) out.set(key.replace(':', '/'), value);
    }
    return ok(out);
  }

  private emit(e: PbxEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.deps.log.error('PbxEvent listener failed', { pbx: this.name, kind: e.kind, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  private onEslEvent(ev: EslEvent): void {
    if (this.client.status() !== 'ready') {
      this.held ??= [];
      if (this.held.length < MAX_HELD_EVENTS) this.held.push(ev);
      else this.heldDropped++;
      return;
    }
    this.mapEvent(ev);
  }

  private mapEvent(ev: EslEvent): void {
    if (!this.mapper.wants(ev)) return;
    const broken = ev.error();
    if (broken) {
      this.deps.log.warn('ESL event skipped', { pbx: this.name, code: broken.code, error: broken.message, ...broken.detail });
      return;
    }
    this.mapper.map(ev, (e) => this.emit(e));
    if (ev.name === 'CHANNEL_CREATE') this.waiters.seen(ev.get('Unique-ID') ?? '');
  }

  /**
   * Who places a dial from a channel asking the pre-call server now, from the channel data
   * the switch sent with the request (`get`): the live path's rules (FsChannelBook.originOf,
   * as at its bridge) applied to the channel as this adapter tracks it, with the accountcode
   * the channel has now. A channel not seen yet is waited for briefly, then judged from the
   * channel data alone: the same variables the live path reads, never the SIP From user.
   */
  async askingOrigin(get: (name: string) => string | undefined, waitMs: number): Promise<{ origin: CallOrigin; known: boolean }> {
    const uuid = get('Unique-ID') ?? '';
    const book = this.mapper.channels;
    if (!book.get(uuid) && this.client.status() === 'ready') await this.waiters.wait(uuid, waitMs);
    const seen = book.get(uuid);
    const c = seen ? { ...seen } : FsChannelBook.blank(uuid, get('Channel-Name') ?? uuid, get('Call-Direction') === 'outbound');
    c.accountcode = get('variable_accountcode') || null;
    if (!seen) {
      c.user = get('variable_sip_auth_username') || get('variable_user_name') || null;
      c.gateway = get('variable_sip_gateway_name') || null;
      c.loopbackPeer = get('variable_other_loopback_leg_uuid') || null;
      c.callerId = get('Caller-Caller-ID-Number') || null;
      if (!c.loopback) c.source = get('Caller-Network-Addr') || get('variable_sip_network_ip') || null;
      this.mapper.markInbound(c);
    }
    return { origin: book.originOf(c), known: seen !== undefined };
  }

  /** Problems the last connect found in this switch's setup (status, health). */
  warnings(): string[] {
    return this.setupWarnings;
  }

  /**
   * Which directory users and gateways the switch has: a leg is internal only when it rings a
   * known user, and a configured trunk the switch lacks is a setup error said loudly.
   */
  private async checkDirectory(client: EslClient): Promise<void> {
    const users = await client.api('list_users');
    const gateways = await client.api('sofia status gateway');
    const warnings: string[] = [];
    const userList = users.ok && users.value.includes('|') ? parseListUsers(users.value) : null;
    const gatewayList = gateways.ok ? parseGateways(gateways.value) : null;
    this.directory.set(userList, gatewayList);
    if (userList === null) warnings.push(`cannot list the directory users (${users.ok ? users.value.trim().slice(0, 80) : users.error.message}): every leg is judged as leaving the switch`);
    const missing = this.directory.missingTrunks();
    if (missing.length) {
      warnings.push(`configured trunk${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found among the switch's gateways (${this.directory.gatewayList().join(', ') || 'none'}): calls through a gateway not listed are still judged as external`);
    }
    if (this.trunks.size === 0) warnings.push('no trunks configured: every leg to something that is not a known user is judged as external');
    for (const w of warnings) if (!this.setupWarnings.includes(w)) this.deps.log.warn(`${this.name}: ${w}`, { pbx: this.name, code: 'TG_ERR_UNKNOWN_TRUNK' });
    this.setupWarnings = warnings;
  }

  private async resync(client: EslClient): Promise<void> {
    this.held ??= [];
    try {
      await this.checkDirectory(client);
      const r = await client.api('show channels as json');
      if (!r.ok) throw r.error;
      const found = await adoptChannels(r.value, this.mapper, async (uuid, variable) => {
        if (!UUID.test(uuid)) return null;
        const v = await client.api(`uuid_getvar ${uuid} ${variable}`);
        const text = v.ok ? v.value.trim() : '';
        return text === '' || text === '_undef_' || text.startsWith('-ERR') ? null : text;
      });
      if (!found.ok) throw found.error;
      const calls = found.value;
      this.emit({ kind: 'CallsResynced', pbx: this.name, at: this.deps.clock.now(), calls });
      this.deps.log.info('FreeSWITCH calls resynced', { pbx: this.name, calls: calls.length });
    } finally {
      const held = this.held ?? [];
      this.held = null;
      if (this.heldDropped > 0) {
        this.deps.log.warn('ESL events dropped while resyncing', { pbx: this.name, dropped: this.heldDropped });
        this.heldDropped = 0;
      }
      for (const ev of held) this.mapEvent(ev);
    }
  }
}
