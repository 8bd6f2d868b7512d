import { isIP } from 'node:net';
import type { Logger } from '../notify/logger.js';
import { TollguardError } from '../result.js';
import type { Firewall, FirewallEntry, FirewallState } from './firewall.js';
import { run, type RunResult } from './run.js';

export interface NftablesOptions {
  table: string;
  /** SIP ports whose udp and tcp traffic from banned sources is dropped; empty = all traffic. */
  ports: number[];
  /** Delete a banned source's conntrack entries so an established UDP flow stops at once. */
  conntrack: boolean;
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
 */
export class NftablesFirewall implements Firewall {
  readonly type = 'nftables' as const;
  private readonly table: string;
  private conntrackMissing = false;
  private conntrackChain: Promise<void> = Promise.resolve();
  /** Elements this process put in the sets, with when they run out (Date.now() ms). */
  private readonly present = new Map<string, number>();
  private nextPrune = 0;

  constructor(private readonly opts: NftablesOptions) {
    if (!TABLE_NAME.test(opts.table)) throw new Error(`nftables: bad table name ${JSON.stringify(opts.table)}`);
    for (const p of opts.ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`nftables: bad port ${p}`);
    this.table = opts.table;
  }

  /**
   * Creates what is missing; existing set elements survive (a daemon restart must not lift
   * bans). The chain's rules are replaced in the same transaction, so the ports follow the
   * configuration and start() can run any number of times.
   */
  async start(): Promise<void> {
    const t = `inet ${this.table}`;
    const ports = this.opts.ports;
    const match = ports.length === 0 ? '' : `meta l4proto { tcp, udp } th dport { ${ports.join(', ')} } `;
    const script = [
      `add table ${t}`,
      `add set ${t} banned4 { type ipv4_addr; flags timeout; }`,
      `add set ${t} banned6 { type ipv6_addr; flags timeout; }`,
      `add chain ${t} input { type filter hook input priority filter - 10; policy accept; }`,
      `flush chain ${t} input`,
      `add rule ${t} input ${match}ip saddr @banned4 drop`,
      `add rule ${t} input ${match}ip6 saddr @banned6 drop`,
      '',
    ].join('\n');
    await this.nft(['-f', '-'], script, 'start');
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

  async inspect(): Promise<FirewallState> {
    const r = await this.exec(['-j', 'list', 'table', 'inet', this.table], null);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr)) return { table: false, rules: false, addresses: new Set() };
      throw this.error('inspect', r);
    }
    return parseTable(r.stdout);
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

  /** Runs after the ban is in the set, one address at a time, off the ban's critical path. */
  private dropFlows(entries: FirewallEntry[]): void {
    this.conntrackChain = this.conntrackChain.then(async () => {
      for (const e of entries) {
        if (this.conntrackMissing) return;
        const args = ['-D', '-f', e.family === 6 ? 'ipv6' : 'ipv4', '-s', e.address];
        const r = await run(this.argv(this.opts.conntrackPath ?? 'conntrack', args), null);
        if (r.spawnError?.code === 'ENOENT' || (this.opts.netns && r.code === 255 && /No such file/.test(r.stderr))) {
          this.conntrackMissing = true;
          this.opts.log.warn('conntrack not found: established flows of banned sources are not cut (install conntrack)', {
            code: 'TG_ERR_FIREWALL',
          });
          return;
        }
        // Exit status 1 with "0 flow entries have been deleted" is the usual, harmless case.
        if (r.code !== 0 && !/0 flow entries/.test(r.stderr)) {
          this.opts.log.warn('conntrack delete failed', { code: 'TG_ERR_FIREWALL', address: e.address, stderr: r.stderr.trim() });
        }
      }
    });
  }
}

function setFor(address: string, family: 4 | 6): 'banned4' | 'banned6' {
  const actual = isIP(address);
  // nft would resolve a host name; only IP literals of the right family go in.
  if (actual !== family) {
    throw new TollguardError('TG_ERR_FIREWALL', `not an IPv${family} address: ${JSON.stringify(address)}`, { address });
  }
  return family === 4 ? 'banned4' : 'banned6';
}

/**
 * `nft -j list table inet <t>`: the addresses in both sets, and whether the input chain
 * still drops each set's sources (someone may flush the chain and keep the table).
 */
export function parseTable(json: string): FirewallState {
  const doc = JSON.parse(json) as NftDoc;
  const addresses = new Set(setElements(doc).map((e) => e.address));
  let v4 = false;
  let v6 = false;
  for (const item of doc.nftables ?? []) {
    const rule = item.rule;
    if (!rule || rule.chain !== 'input') continue;
    const expr = JSON.stringify(rule.expr ?? null);
    if (!expr.includes('{"drop":null}')) continue;
    if (expr.includes('"@banned4"')) v4 = true;
    if (expr.includes('"@banned6"')) v6 = true;
  }
  return { table: true, rules: v4 && v6, addresses };
}

interface NftJsonElem {
  elem?: { val?: unknown; expires?: unknown };
}

/** What tollguard reads of `nft -j list ...` output. */
interface NftDoc {
  nftables?: { set?: { elem?: unknown[] }; rule?: { chain?: unknown; expr?: unknown } }[];
}

/** Elements of one `nft -j list set`: plain values, or { elem: { val, timeout, expires } }. */
export function parseSetElements(json: string): { address: string; expiresInSec: number | null }[] {
  return setElements(JSON.parse(json) as NftDoc);
}

/** The elements of every set in a parsed document. */
function setElements(doc: NftDoc): { address: string; expiresInSec: number | null }[] {
  const out: { address: string; expiresInSec: number | null }[] = [];
  for (const item of doc.nftables ?? []) {
    for (const el of item.set?.elem ?? []) {
      if (typeof el === 'string') out.push({ address: el, expiresInSec: null });
      else {
        const e = (el as NftJsonElem).elem;
        if (e && typeof e.val === 'string') out.push({ address: e.val, expiresInSec: typeof e.expires === 'number' ? e.expires : null });
      }
    }
  }
  return out;
}
