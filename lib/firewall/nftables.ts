import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../notify/logger.js';
import { TollguardError } from '../result.js';
import type { Firewall, FirewallEntry, FirewallState } from './firewall.js';
import { buildRuleset, collectAddresses, parseCounter, parseRules, parseSetElements, type FloodLimit, type RulesetOptions } from './ruleset.js';
import { run, type RunResult } from './run.js';

export interface NftablesOptions {
  table: string;
  /** SIP ports whose udp and tcp traffic from banned sources is dropped; empty = all traffic. */
  ports: number[];
  /**
   * Delete the conntrack entries of banned sources that have any (per batch of bans: one
   * `conntrack -L`, at most one `conntrack -R`). Not needed to stop their traffic (the drop
   * runs before connection tracking); it frees the table sooner than their timeouts would.
   */
  conntrack: boolean;
  /** Per-source limit of new SIP packets in the kernel; null = none. */
  floodLimit?: FloodLimit | null;
  /** Addresses and CIDRs the flood limit never applies to (the ignore list, the trunks). */
  exempt?: string[];
  /** Run inside this network namespace (`ip netns exec`): tests and benches only. */
  netns?: string;
  log: Logger;
  nftPath?: string;
  conntrackPath?: string;
}

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,30}$/;

/**
 * Bans as elements of two named sets with per-element timeouts, in a table of our own
 * (`inet <table>`), so the kernel expires bans by itself and the rest of the host's
 * ruleset is never touched. Every change is one `nft -f -` transaction: all or nothing.
 * The rules themselves: lib/firewall/ruleset.ts.
 */
export class NftablesFirewall implements Firewall {
  readonly type = 'nftables' as const;
  private readonly table: string;
  private conntrackMissing = false;
  private conntrackChain: Promise<void> = Promise.resolve();
  /** Elements this process put in the sets, with when they run out (Date.now() ms). */
  private readonly present = new Map<string, number>();
  private nextPrune = 0;
  private rules: Omit<RulesetOptions, 'table'>;

  constructor(private readonly opts: NftablesOptions) {
    if (!TABLE_NAME.test(opts.table)) throw new Error(`nftables: bad table name ${JSON.stringify(opts.table)}`);
    for (const p of opts.ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`nftables: bad port ${p}`);
    const f = opts.floodLimit;
    if (f && !(Number.isInteger(f.rate) && f.rate > 0 && Number.isInteger(f.burst) && f.burst > 0)) throw new Error('nftables: bad flood limit');
    this.table = opts.table;
    this.rules = { ports: opts.ports, floodLimit: f ?? null, exempt: opts.exempt ?? [] };
  }

  /**
   * Creates what is missing; existing set elements survive (a daemon restart must not lift
   * bans). The chain's rules are replaced in the same transaction, so the ports and the
   * flood limit follow the configuration and start() can run any number of times.
   */
  async start(): Promise<void> {
    const script = buildRuleset({ table: this.table, ...this.rules });
    await this.nft(['-f', '-'], script, 'start');
  }

  /** New ports, flood limit or exempt list (a reload), applied to the kernel at once. */
  async reconfigure(o: { ports: number[]; floodLimit: FloodLimit | null; exempt: string[] }): Promise<void> {
    this.rules = { ports: o.ports, floodLimit: o.floodLimit, exempt: o.exempt };
    await this.start();
  }

  /** Packets the flood limit has dropped since the table was made; null without a limit. */
  async floodDropped(): Promise<number | null> {
    if (!this.rules.floodLimit || this.rules.ports.length === 0) return null;
    const r = await this.exec(['-j', 'list', 'counter', 'inet', this.table, 'flood_dropped'], null);
    if (r.code !== 0) return null;
    return parseCounter(r.stdout);
  }

  async ban(entries: FirewallEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const lines: string[] = [];
    const now = Date.now();
    for (const e of entries) {
      const set = setFor(e.address, e.family);
      const timeout = Math.max(1, Math.ceil(e.timeoutSec));
      const add = `add element inet ${this.table} ${set} { ${e.address} timeout ${timeout}s }`;
      if ((this.present.get(e.address) ?? 0) > now) {
        // A plain add leaves an existing element's timeout as it was on older kernels, so a
        // lengthened ban re-creates it. Only then: a delete costs ~12 ms more per transaction.
        const el = `inet ${this.table} ${set} { ${e.address} }`;
        lines.push(`add element ${el}`, `delete element ${el}`, add);
      } else {
        lines.push(add);
      }
    }
    lines.push('');
    await this.nft(['-f', '-'], lines.join('\n'), 'ban');
    for (const e of entries) this.present.set(e.address, now + Math.max(1, Math.ceil(e.timeoutSec)) * 1000);
    this.prunePresent(now);
    if (this.opts.conntrack) this.dropFlows(entries);
  }

  async unban(address: string): Promise<void> {
    const family = isIP(address);
    const set = setFor(address, family === 6 ? 6 : 4);
    const r = await this.exec(['delete', 'element', 'inet', this.table, set, `{ ${address} }`], null);
    this.present.delete(address);
    if (r.code === 0 || /No such file or directory/.test(r.stderr)) return;
    throw this.error('unban', r);
  }

  /** The chain, then each set, read without holding the event loop on a large listing. */
  async inspect(): Promise<FirewallState> {
    const chain = await this.exec(['-j', 'list', 'chain', 'inet', this.table, 'prerouting'], null);
    if (chain.code !== 0 && !/No such file or directory/.test(chain.stderr)) throw this.error('inspect', chain);
    const addresses = new Set<string>();
    let table = false;
    for (const set of ['banned4', 'banned6']) {
      const r = await this.exec(['-j', 'list', 'set', 'inet', this.table, set], null);
      if (r.code !== 0) {
        if (/No such file or directory/.test(r.stderr)) continue;
        throw this.error('inspect', r);
      }
      table = true;
      await collectAddresses(r.stdout, addresses);
    }
    const rules = chain.code === 0 && parseRules(chain.stdout);
    return { table: table || chain.code === 0, rules, addresses };
  }

  async list(): Promise<{ address: string; family: 4 | 6; expiresInSec: number | null }[]> {
    const out: { address: string; family: 4 | 6; expiresInSec: number | null }[] = [];
    for (const [set, family] of [['banned4', 4], ['banned6', 6]] as const) {
      const stdout = await this.nft(['-j', 'list', 'set', 'inet', this.table, set], null, 'list');
      for (const el of parseSetElements(stdout)) out.push({ ...el, family });
    }
    return out;
  }

  async remove(): Promise<void> {
    const r = await this.exec(['delete', 'table', 'inet', this.table], null);
    this.present.clear();
    if (r.code === 0 || /No such file or directory/.test(r.stderr)) return;
    throw this.error('remove', r);
  }

  private prunePresent(now: number): void {
    if (now < this.nextPrune) return;
    this.nextPrune = now + 60_000;
    for (const [address, until] of this.present) if (until <= now) this.present.delete(address);
  }

  private async nft(args: string[], input: string | null, op: string): Promise<string> {
    const r = await this.exec(args, input);
    if (r.code !== 0) throw this.error(op, r);
    return r.stdout;
  }

  private exec(args: string[], input: string | null): Promise<RunResult> {
    return run(this.argv(this.opts.nftPath ?? 'nft', args), input);
  }

  private argv(program: string, args: string[]): string[] {
    return this.opts.netns ? ['ip', 'netns', 'exec', this.opts.netns, program, ...args] : [program, ...args];
  }

  private error(op: string, r: RunResult): TollguardError {
    const why = r.spawnError ? r.spawnError.message : r.stderr.trim() || `exit status ${r.code}`;
    return new TollguardError('TG_ERR_FIREWALL', `nft ${op} failed: ${why}`, { op, exitCode: r.code, stderr: r.stderr.trim() });
  }

  /**
   * After the bans are in the sets, off their critical path, and only where still needed:
   * one `conntrack -L` lists the flows, and the banned sources that have any are deleted in
   * one `conntrack -R FILE` (a file: conntrack opens /dev/stdin, which fails on the socket
   * Node gives a child). Each deletion line costs conntrack a walk of the table (600 lines:
   * 6.5 s even with the table empty), so sources without flows, the usual case once the
   * drop runs before connection tracking, cost nothing.
   */
  private dropFlows(entries: FirewallEntry[]): void {
    this.conntrackChain = this.conntrackChain.then(async () => {
      if (this.conntrackMissing || entries.length === 0) return;
      const listed = await run(this.argv(this.opts.conntrackPath ?? 'conntrack', ['-L']), null);
      if (this.conntrackGone(listed)) return;
      const tracked = trackedSources(listed.stdout);
      const doomed = entries.filter((e) => tracked.has(e.address));
      if (doomed.length === 0) return;
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tollguard-ct-'));
      const file = path.join(dir, 'delete');
      let r: RunResult;
      try {
        await writeFile(file, doomed.map((e) => `-D -f ${e.family === 6 ? 'ipv6' : 'ipv4'} -s ${e.address}\n`).join(''), { mode: 0o600 });
        r = await run(this.argv(this.opts.conntrackPath ?? 'conntrack', ['-R', file]), null);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      if (this.conntrackGone(r)) return;
      if (r.code !== 0) {
        this.opts.log.warn('conntrack delete failed', { code: 'TG_ERR_FIREWALL', addresses: doomed.length, stderr: r.stderr.trim().slice(0, 500) });
      }
    });
  }

  private conntrackGone(r: RunResult): boolean {
    if (r.spawnError?.code !== 'ENOENT' && !(this.opts.netns && r.code === 255 && /No such file/.test(r.stderr))) return false;
    this.conntrackMissing = true;
    this.opts.log.warn('conntrack not found: conntrack entries of banned sources are left to time out (their packets are dropped anyway)', {
      code: 'TG_ERR_FIREWALL',
    });
    return true;
  }
}

/** Original-direction sources in `conntrack -L` output (the first `src=` of each line). */
function trackedSources(listing: string): Set<string> {
  const out = new Set<string>();
  for (const line of listing.split('\n')) {
    const m = / src=(\S+)/.exec(line);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

function setFor(address: string, family: 4 | 6): 'banned4' | 'banned6' {
  const actual = isIP(address);
  // nft would resolve a host name; only IP literals of the right family go in.
  if (actual !== family) {
    throw new TollguardError('TG_ERR_FIREWALL', `not an IPv${family} address: ${JSON.stringify(address)}`, { address });
  }
  return family === 4 ? 'banned4' : 'banned6';
}
