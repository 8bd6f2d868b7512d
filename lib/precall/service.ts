import type { LiveCall } from '../calls/call.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import { Journal } from '../enforce/journal.js';
import type { JudgeRules } from '../judge/rules.js';
import type { Logger } from '../notify/logger.js';
import type { PbxAdapter } from '../pbx/adapter.js';
import type { Store } from '../store/store.js';
import { AgiServer, type AsteriskAsking } from './agi-server.js';
import { Authorizer, type AuthorizerDeps, type PrecallOutcome } from './authorizer.js';
import { EslOutboundServer, type FreeswitchAsking } from './esl-server.js';

export interface PrecallDeps {
  clock: Clock;
  log: Logger;
  store: Store;
  config: () => Config;
  rules: () => JudgeRules;
  adapters: ReadonlyMap<string, PbxAdapter>;
  state: AuthorizerDeps['state'];
  suspend: AuthorizerDeps['suspend'];
  intel?: AuthorizerDeps['intel'];
  onOutcome?: (o: PrecallOutcome) => void;
  onServed?: (pbx: string, seconds: number) => void;
  onFailed?: (why: string) => void;
}

/** Where the pre-call servers listen (null = off or not started), for status and tests. */
export interface PrecallPorts {
  agi: number | null;
  esl: number | null;
}

/**
 * The pre-call side of the daemon: the authorizer on the live path's state, and a server for
 * each PBX type configured (FastAGI for Asterisk, outbound event socket for FreeSWITCH). A
 * server that cannot listen is said loudly and the rest runs: the hooks then fall back to
 * their flags and `precall.whenDown`, as when tollguard is stopped.
 */
export class PrecallService {
  readonly authorizer: Authorizer;
  readonly ports: PrecallPorts = { agi: null, esl: null };
  /** Why a server is not listening, for status. */
  readonly problems: string[] = [];
  private agi: AgiServer | null = null;
  private esl: EslOutboundServer | null = null;

  constructor(private readonly deps: PrecallDeps) {
    this.authorizer = new Authorizer({
      clock: deps.clock, log: deps.log, journal: new Journal({ store: deps.store, clock: deps.clock, log: deps.log }),
      rules: deps.rules, state: deps.state, suspend: deps.suspend, ...(deps.intel ? { intel: deps.intel } : {}), ...(deps.onOutcome ? { onOutcome: deps.onOutcome } : {}),
    });
  }

  async start(): Promise<void> {
    const c = this.deps.config().precall;
    const common = {
      authorize: (req: Parameters<Authorizer['authorize']>[0]) => this.authorizer.authorize(req),
      log: this.deps.log,
      // The hook's wait for the whole answer is precall.timeout: the channel gets a part of it.
      channelWaitMs: () => Math.min(100, this.deps.config().precall.timeoutMs / 3),
      ...(this.deps.onServed ? { onServed: this.deps.onServed } : {}),
      ...(this.deps.onFailed ? { onFailed: this.deps.onFailed } : {}),
    };
    if (c.listen !== null && this.pbxsOf('asterisk').length > 0) {
      const server = new AgiServer({ ...common, pbxs: () => this.pbxsOf<AsteriskAsking>('asterisk') });
      this.ports.agi = await this.listen('precall.listen', c.listen, (l) => server.start(l));
      if (this.ports.agi !== null) this.agi = server;
    }
    if (c.eslListen !== null && this.pbxsOf('freeswitch').length > 0) {
      const server = new EslOutboundServer({ ...common, now: () => this.deps.clock.now(), pbxs: () => this.pbxsOf<FreeswitchAsking>('freeswitch') });
      this.ports.esl = await this.listen('precall.eslListen', c.eslListen, (l) => server.start(l));
      if (this.ports.esl !== null) this.esl = server;
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.agi?.stop(), this.esl?.stop()]);
    this.agi = null;
    this.esl = null;
  }

  /** The live path's hook (EnforcerDeps.admitted). */
  claim(call: LiveCall): boolean {
    return this.authorizer.claim(call);
  }

  private async listen(key: string, listen: string, start: (l: string) => Promise<number>): Promise<number | null> {
    try {
      const port = await start(listen);
      this.deps.log.info('pre-call server listening', { key, listen, port });
      return port;
    } catch (err) {
      const problem = `${key} ${listen}: ${(err as Error).message}; the dialplan hooks fall back to their flags and precall.whenDown`;
      this.problems.push(problem);
      this.deps.log.error(`pre-call server not started: ${problem}`, { code: 'TG_ERR_PRECALL' });
      return null;
    }
  }

  private pbxsOf<A>(type: 'asterisk' | 'freeswitch'): { name: string; host: string; adapter: A }[] {
    const out: { name: string; host: string; adapter: A }[] = [];
    for (const p of this.deps.config().pbx) {
      const adapter = this.deps.adapters.get(p.name);
      if (p.type === type && adapter?.type === type) out.push({ name: p.name, host: p.host, adapter: adapter as unknown as A });
    }
    return out;
  }
}
