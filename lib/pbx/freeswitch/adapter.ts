import type { Clock } from '../../clock.js';
import type { FreeswitchPbxConfig, LinkTiming } from '../../config/types.js';
import { LinkLayer, type LinkControl } from '../../net/link.js';
import type { Logger } from '../../notify/logger.js';
import { fail, ok, type Result } from '../../result.js';
import type { PbxAdapter } from '../adapter.js';
import type { CallRef, HangupCauseCode, PbxEvent } from '../events.js';
import { callsFromChannels } from './channels.js';
import { EslClient } from './client.js';
import type { EslEvent } from './event.js';
import { FlagIndex } from './flag-index.js';
import { ESL_CUSTOM, ESL_EVENTS, FreeswitchEventMapper } from './mapper.js';

/** Q.850 cause -> the name uuid_kill takes (switch_channel_str2cause). */
const CAUSE_NAMES: Record<HangupCauseCode, string> = {
  16: 'NORMAL_CLEARING',
  21: 'CALL_REJECTED',
  52: 'OUTGOING_CALL_BARRED',
};

const UUID = /^[A-Za-z0-9-]{1,64}$/;
const DB_PART = /^[^\s/]{1,200}$/;
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
  private readonly listeners: ((e: PbxEvent) => void)[] = [];
  private held: EslEvent[] | null = null;
  private heldDropped = 0;
  private readonly flags: FlagIndex;

  constructor(private readonly cfg: FreeswitchPbxConfig, timing: LinkTiming, private readonly deps: { clock: Clock; log: Logger }) {
    super();
    this.name = cfg.name;
    this.mapper = new FreeswitchEventMapper({
      pbx: cfg.name,
      trunks: cfg.trunks,
      trunkAddresses: cfg.trunkAddresses,
      clock: deps.clock,
      log: deps.log,
    });
    this.client = new EslClient({
      name: cfg.name,
      host: cfg.host,
      port: cfg.port,
      password: cfg.password,
      timing,
      subscription: { format: cfg.eventFormat, events: [...ESL_EVENTS], custom: [...ESL_CUSTOM] },
      clock: deps.clock,
      log: deps.log,
      onEvent: (ev) => this.onEslEvent(ev),
      resync: (client) => this.resync(client),
    });
    // Events of a new link are held from its first byte until its snapshot is taken; those
    // of a link that died before its resync describe a past that the next snapshot replaces.
    this.flags = new FlagIndex((cmd) => this.client.api(cmd));
    this.client.onStatus((s) => {
      if (s === 'connecting') {
        this.held = null;
        this.flags.forget();
      }
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
    return this.flags.write(family, key, value);
  }

  async listFlags(family: string): Promise<Result<Map<string, string>>> {
    if (!DB_PART.test(family)) return fail('TG_ERR_PBX_REJECTED', 'db family must be 1-200 characters without "/" or whitespace');
    const r = await this.flags.list(family);
    if (!r.ok) return r;
    return ok(new Map([...r.value].map(([k, v]) => [k.replace(':', '/'), v])));
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
  }

  private async resync(client: EslClient): Promise<void> {
    this.held ??= [];
    try {
      const r = await client.api('show channels as json');
      if (!r.ok) throw r.error;
      const found = callsFromChannels(r.value, { pbx: this.name, trunkAddresses: this.cfg.trunkAddresses });
      if (!found.ok) throw found.error;
      const calls = this.mapper.adopt(found.value);
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
