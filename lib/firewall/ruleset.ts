import { isIP } from 'node:net';

export interface FloodLimit {
  /** New SIP packets per second one source may send (UDP datagrams and TCP connection attempts). */
  rate: number;
  /** Packets a source may send at once above the rate. */
  burst: number;
}

export interface RulesetOptions {
  table: string;
  /** SIP ports; empty = every port (bans only: the flood limit needs ports). */
  ports: number[];
  floodLimit: FloodLimit | null;
  /** Addresses and CIDRs never limited (the ignore list and the trunks); IPv4 and IPv6. */
  exempt: string[];
}

/** Elements of the dynamic sets that count each source's packets (the kernel's own memory bound). */
const FLOOD_SET_SIZE = 131_072;

/**
 * The table as one `nft -f -` transaction, safe to run any number of times: sets are added
 * (existing elements survive), chains are added and flushed, rules written afresh.
 *
 * The drop sits in `prerouting` at raw priority (-300), before connection tracking (-200):
 * a banned source's packets are dropped whether or not a conntrack entry exists, so an
 * established UDP flow stops with the ban itself and no `conntrack -D` is needed; dropped
 * packets never create conntrack entries either. The chain of older versions (`input`) is
 * removed in the same transaction.
 *
 * The flood limit (Kamailio pike in the kernel): per source, UDP datagrams and TCP SYNs to
 * the SIP ports over `rate`/s (after a burst) are dropped and counted in `flood_dropped`;
 * the exempt sets (ignore list, trunks) are never limited.
 */
export function buildRuleset(o: RulesetOptions): string {
  const t = `inet ${o.table}`;
  const ports = o.ports.length === 0 ? '' : `{ ${o.ports.join(', ')} }`;
  const match = ports ? `meta l4proto { tcp, udp } th dport ${ports} ` : '';
  const lines = [
    `add table ${t}`,
    `add set ${t} banned4 { type ipv4_addr; flags timeout; }`,
    `add set ${t} banned6 { type ipv6_addr; flags timeout; }`,
    `add chain ${t} input { type filter hook input priority filter - 10; policy accept; }`,
    `flush chain ${t} input`,
    `delete chain ${t} input`,
    `add chain ${t} prerouting { type filter hook prerouting priority raw; policy accept; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting ${match}ip saddr @banned4 drop`,
    `add rule ${t} prerouting ${match}ip6 saddr @banned6 drop`,
  ];
  if (o.floodLimit && ports) {
    const { v4, v6 } = splitFamilies(o.exempt);
    const limit = `limit rate over ${o.floodLimit.rate}/second burst ${o.floodLimit.burst} packets`;
    lines.push(
      `add set ${t} exempt4 { type ipv4_addr; flags interval; auto-merge; }`,
      `add set ${t} exempt6 { type ipv6_addr; flags interval; auto-merge; }`,
      `flush set ${t} exempt4`,
      `flush set ${t} exempt6`,
      ...(v4.length ? [`add element ${t} exempt4 { ${v4.join(', ')} }`] : []),
      ...(v6.length ? [`add element ${t} exempt6 { ${v6.join(', ')} }`] : []),
      `add set ${t} flood4 { type ipv4_addr; size ${FLOOD_SET_SIZE}; flags dynamic,timeout; timeout 1m; }`,
      `add set ${t} flood6 { type ipv6_addr; size ${FLOOD_SET_SIZE}; flags dynamic,timeout; timeout 1m; }`,
      `add counter ${t} flood_dropped`,
    );
    for (const [fam, set, exempt, meter] of [['ip', 'saddr', 'exempt4', 'flood4'], ['ip6', 'saddr', 'exempt6', 'flood6']] as const) {
      const src = `${fam} ${set}`;
      const tail = `${src} != @${exempt} update @${meter} { ${src} ${limit} } counter name flood_dropped drop`;
      lines.push(
        `add rule ${t} prerouting udp dport ${ports} ${tail}`,
        `add rule ${t} prerouting tcp dport ${ports} tcp flags & (syn | ack) == syn ${tail}`,
      );
    }
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * IP literals and CIDRs by family; anything else is left out (nft would resolve a host name;
 * the guard already reports such ignore entries). `::ffff:10.0.0.0/104` is IPv4 10.0.0.0/8.
 */
function splitFamilies(entries: string[]): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const entry of entries) {
    const [raw = '', prefix] = entry.trim().split('/');
    if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) continue;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw)?.[1];
    if (mapped !== undefined && isIP(mapped) === 4) {
      v4.push(prefix === undefined ? mapped : `${mapped}/${Math.max(0, Number(prefix) - 96)}`);
    } else if (isIP(raw) === 4) {
      v4.push(entry.trim());
    } else if (isIP(raw) === 6) {
      v6.push(entry.trim());
    }
  }
  return { v4, v6 };
}

/**
 * `nft -j list chain inet <t> prerouting`: whether the chain still drops both sets' sources
 * (someone may flush the chain and keep the table).
 */
export function parseRules(json: string): boolean {
  const doc = JSON.parse(json) as NftDoc;
  let v4 = false;
  let v6 = false;
  for (const item of doc.nftables ?? []) {
    const rule = item.rule;
    if (!rule || rule.chain !== 'prerouting') continue;
    const expr = JSON.stringify(rule.expr ?? null);
    if (!expr.includes('{"drop":null}')) continue;
    if (expr.includes('"@banned4"')) v4 = true;
    if (expr.includes('"@banned6"')) v6 = true;
  }
  return v4 && v6;
}

/** Elements read per turn by collectAddresses: a few ms each, then the PBX socket is read. */
const ADDRESSES_PER_TURN = 2000;

/**
 * The addresses of one `nft -j list set`, added to `into` a slice at a time with a turn of
 * the event loop between slices: the listing of 40,000 bans is 2.8 MB, and JSON.parse of it
 * held the loop 20-35 ms (43-63 ms with the Set built); 2,000 elements take 1-4 ms. Every quoted IP literal in the
 * elements is an address (values are `"val": "…"` objects, or plain strings without timeout).
 */
export async function collectAddresses(json: string, into: Set<string>): Promise<void> {
  const start = json.indexOf('"elem"');
  if (start < 0) return;
  const quoted = /"([0-9A-Fa-f:.]{2,45})"/g;
  quoted.lastIndex = start;
  for (;;) {
    for (let n = 0; n < ADDRESSES_PER_TURN; n++) {
      const m = quoted.exec(json);
      if (!m) return;
      if (isIP(m[1]!) !== 0) into.add(m[1]!);
    }
    await new Promise((r) => setImmediate(r));
  }
}

/** Packets the flood limit dropped, from `nft -j list counter inet <t> flood_dropped`. */
export function parseCounter(json: string): number | null {
  const doc = JSON.parse(json) as NftDoc;
  for (const item of doc.nftables ?? []) if (typeof item.counter?.packets === 'number') return item.counter.packets;
  return null;
}

interface NftJsonElem {
  elem?: { val?: unknown; expires?: unknown };
}

/** What tollguard reads of `nft -j list ...` output. */
interface NftDoc {
  nftables?: { set?: { name?: string; elem?: unknown[] }; rule?: { chain?: unknown; expr?: unknown }; counter?: { packets?: unknown } }[];
}

/** Elements of one `nft -j list set`: plain values, or { elem: { val, timeout, expires } }. */
export function parseSetElements(json: string): { address: string; expiresInSec: number | null }[] {
  return setElements(JSON.parse(json) as NftDoc).map(({ address, expiresInSec }) => ({ address, expiresInSec }));
}

/** The elements of every set in a parsed document. */
function setElements(doc: NftDoc): { set: string; address: string; expiresInSec: number | null }[] {
  const out: { set: string; address: string; expiresInSec: number | null }[] = [];
  for (const item of doc.nftables ?? []) {
    const set = item.set?.name ?? '';
    for (const el of item.set?.elem ?? []) {
      if (typeof el === 'string') out.push({ set, address: el, expiresInSec: null });
      else {
        const e = (el as NftJsonElem).elem;
        if (e && typeof e.val === 'string') out.push({ set, address: e.val, expiresInSec: typeof e.expires === 'number' ? e.expires : null });
      }
    }
  }
  return out;
}
