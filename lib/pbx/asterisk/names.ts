import net from 'node:net';

/**
 * The strings Asterisk uses to name things (channels, dial strings, security-event
 * addresses), turned into what the rules need. Pure functions, no state.
 */

export interface ChannelName {
  /** Channel technology as written: PJSIP, SIP, IAX2, Local, ... */
  tech: string;
  /** Endpoint / peer / Local target: `PJSIP/trunk-uas-00000001` -> `trunk-uas`. */
  endpoint: string;
}

/**
 * `PJSIP/1001-00000000` -> PJSIP, 1001. The unique suffix is the last `-<hex>` (endpoint
 * names may contain dashes themselves: `trunk-uas-00000001`); Local channels also carry
 * `;1` / `;2`. A name without a technology gives null.
 */
export function parseChannel(channel: string): ChannelName | null {
  const slash = channel.indexOf('/');
  if (slash <= 0) return null;
  // Offsets into `channel` rather than slices and regular expressions: the replay reads two
  // channel names per record.
  let end = channel.length;
  const semi = channel.lastIndexOf(';');
  if (semi > slash && runOf(channel, semi + 1, end, DECIMAL)) end = semi;
  const dash = channel.lastIndexOf('-', end - 1);
  if (dash > slash + 1 && runOf(channel, dash + 1, end, HEX)) end = dash;
  if (end === slash + 1) return null;
  return { tech: channel.slice(0, slash), endpoint: channel.slice(slash + 1, end) };
}

const DECIMAL = (c: number): boolean => c >= 48 && c <= 57;
const HEX = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** At least one character from `from` to `to`, each one `ok`. */
function runOf(s: string, from: number, to: number, ok: (c: number) => boolean): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) if (!ok(s.charCodeAt(i))) return false;
  return true;
}

/** Channel technologies that may prefix a dial string (`PJSIP/...`, `SIP/...`). */
const TECHS = new Set([
  'pjsip', 'sip', 'iax2', 'local', 'dahdi', 'motif', 'skinny', 'mgcp', 'unistim', 'h323', 'ooh323',
  'console', 'audiosocket', 'websocket', 'unicastrtp', 'multicastrtp',
]);

export interface DialTarget {
  /** Technology when the dial string names it (else null: the caller knows it from DestChannel). */
  tech: string | null;
  /** Endpoint / peer the dial goes through; for Local, null (the part after `@` is a context). */
  endpoint: string | null;
  /** Digits or user part sent to the far side, `+` kept; null when the string names only an endpoint. */
  number: string | null;
}

/**
 * One dial target in the forms Asterisk writes them (DialBegin's DialString, Dial()'s data):
 * `011442079460000@trunk-uas`, `PJSIP/011...@trunk-uas`, `trunk-uas/sip:+4420...@host;user=phone`,
 * `SIP/trunk/0044...`, `IAX2/trunk/123`, `Local/123@context/n`, `PJSIP/sip:0044@10.0.0.1`, `1002`.
 */
export function parseDialTarget(dialString: string): DialTarget {
  let s = dialString.trim();
  let tech: string | null = null;
  const slash = s.indexOf('/');
  if (slash > 0 && TECHS.has(s.slice(0, slash).toLowerCase())) {
    tech = s.slice(0, slash);
    s = s.slice(slash + 1);
  }
  const local = tech !== null && tech.toLowerCase() === 'local';
  if (local) {
    const at = s.indexOf('@');
    return { tech, endpoint: null, number: cleanNumber(at === -1 ? s : s.slice(0, at)) };
  }
  if (isUri(s)) return { tech, endpoint: null, number: uriUser(s) };
  const sep = s.indexOf('/');
  if (sep > 0) {
    const endpoint = s.slice(0, sep);
    const target = s.slice(sep + 1);
    return { tech, endpoint, number: isUri(target) ? uriUser(target) : cleanNumber(beforeAt(target)) };
  }
  const at = s.indexOf('@');
  if (at > 0) return { tech, endpoint: s.slice(at + 1) || null, number: cleanNumber(s.slice(0, at)) };
  return { tech, endpoint: s.length > 0 ? s : null, number: null };
}

function isUri(s: string): boolean {
  return /^(sips?|tel):/i.test(s);
}

function uriUser(uri: string): string | null {
  let s = uri.replace(/^(sips?|tel):/i, '');
  s = beforeAt(s);
  return cleanNumber(s);
}

function beforeAt(s: string): string {
  const at = s.indexOf('@');
  return at === -1 ? s : s.slice(0, at);
}

/** Drops URI parameters and escapes of `+`; keeps `+` itself (it decides international). */
function cleanNumber(s: string): string | null {
  let n = s;
  const semi = n.indexOf(';');
  if (semi !== -1) n = n.slice(0, semi);
  if (n.includes('%')) n = n.replace(/%2b/gi, '+');
  n = n.trim();
  return n.length > 0 ? n : null;
}

export interface SocketAddress {
  address: string;
  port: number | null;
}

/**
 * A security event's `RemoteAddress`: `IPV4/UDP/203.0.113.5/5060`, `IPV6/UDP/2001:db8::1/5060`
 * (brackets tolerated). IPv4-mapped IPv6 is reduced to IPv4 so that bans land in one set.
 * Anything that is not an IP address gives null: it must never reach the firewall.
 */
export function parseRemoteAddress(value: string): SocketAddress | null {
  const first = value.indexOf('/');
  const second = first === -1 ? -1 : value.indexOf('/', first + 1);
  const last = value.lastIndexOf('/');
  if (second === -1) return null;
  const host = last > second ? value.slice(second + 1, last) : value.slice(second + 1);
  const portText = last > second ? value.slice(last + 1) : '';
  const address = normalizeIp(host);
  if (address === null) return null;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : null;
  return { address, port };
}

/** `127.0.0.1:5061`, `[2001:db8::1]:5060` (PJSIP's remote_addr). */
export function parseHostPort(value: string): SocketAddress | null {
  const v = value.trim();
  let host = v;
  let portText = '';
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close === -1) return null;
    host = v.slice(1, close);
    portText = v.slice(close + 1).replace(/^:/, '');
  } else if (v.indexOf(':') === v.lastIndexOf(':') && v.includes(':')) {
    host = v.slice(0, v.indexOf(':'));
    portText = v.slice(v.indexOf(':') + 1);
  }
  const address = normalizeIp(host);
  if (address === null) return null;
  return { address, port: /^\d{1,5}$/.test(portText) ? Number(portText) : null };
}

function normalizeIp(host: string): string | null {
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  const kind = net.isIP(h);
  if (kind === 0) return null;
  if (kind === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(h);
    if (mapped && net.isIPv4(mapped[1]!)) return mapped[1]!;
    return h.toLowerCase();
  }
  return h;
}

/** CoreShowChannel's `Duration: 00:00:01` (hours may exceed 24), or plain seconds: in ms. */
export function parseDurationMs(value: string | undefined): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const m = /^(\d+):(\d{1,2}):(\d{1,2})$/.exec(v);
  if (!m) return null;
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000;
}

/** Caller-ID fields say `<unknown>` or nothing when there is none. */
export function knownOrNull(value: string | undefined): string | null {
  if (value === undefined || value === '' || value === '<unknown>') return null;
  return value;
}
