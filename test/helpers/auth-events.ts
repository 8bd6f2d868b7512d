/**
 * Test-only extraction of AuthFailed / AuthSucceeded from the recorded PBX byte streams,
 * by the rules the adapters follow: the address is the socket address (AMI RemoteAddress,
 * ESL network-ip / network_ip), never a SIP header. A minimal reader, not the adapters.
 */
import { readFileSync } from 'node:fs';
import type { AuthFailed, AuthSucceeded } from '../../lib/pbx/events.js';

export type AuthEvent = AuthFailed | AuthSucceeded;

const AMI_FAILURES = new Set([
  'InvalidAccountID', 'ChallengeResponseFailed', 'InvalidPassword', 'FailedACL',
  'AuthMethodNotAllowed', 'UnexpectedAddress', 'RequestNotAllowed',
]);

/** Asterisk AMI security events from a server.raw. */
export function asteriskAuthEvents(file: string, pbx = 'asterisk'): AuthEvent[] {
  const text = readFileSync(file, 'latin1');
  const out: AuthEvent[] = [];
  for (const block of text.split('\r\n\r\n')) {
    const f = new Map<string, string>();
    for (const line of block.split('\r\n')) {
      const i = line.indexOf(': ');
      if (i > 0) f.set(line.slice(0, i), line.slice(i + 2));
    }
    const name = f.get('Event');
    const remote = f.get('RemoteAddress');
    if (!name || !remote) continue;
    // IPV4/UDP/127.0.0.2/5062; IPv6 addresses carry no '/', brackets are dropped.
    const parts = remote.split('/');
    const address = (parts[2] ?? '').replace(/^\[|\]$/g, '');
    const port = Number(parts[3]);
    const at = Date.parse(f.get('EventTV') ?? '') || 0;
    const service = f.get('Service') ?? 'unknown';
    const account = f.get('AccountID');
    const username = account === undefined || account === '<unknown>' ? null : account;
    if (name === 'SuccessfulAuth') {
      out.push({ kind: 'AuthSucceeded', pbx, at, address, service, username });
    } else if (AMI_FAILURES.has(name)) {
      out.push({
        kind: 'AuthFailed', pbx, at, address, port: Number.isFinite(port) ? port : null, service, username,
        userAgent: null, reason: name, attemptId: f.get('SessionID') ?? null,
      });
    }
  }
  return out;
}

/** FreeSWITCH sofia events from a server.raw recorded with `event json` or `event plain`. */
export function freeswitchAuthEvents(file: string, pbx = 'freeswitch'): AuthEvent[] {
  const buf = readFileSync(file);
  const out: AuthEvent[] = [];
  let i = 0;
  while (i < buf.length) {
    const end = buf.indexOf('\n\n', i);
    if (end < 0) break;
    const head = parseHeaders(buf.subarray(i, end).toString('latin1'), false);
    i = end + 2;
    const len = Number(head.get('Content-Length') ?? 0);
    const body = buf.subarray(i, i + len).toString('latin1');
    i += len;
    const type = head.get('Content-Type');
    let ev: Map<string, string> | null = null;
    if (type === 'text/event-json') ev = new Map(Object.entries(JSON.parse(body) as Record<string, string>));
    else if (type === 'text/event-plain') ev = parseHeaders(body.split('\n\n')[0] ?? '', true);
    if (ev) {
      const e = fromSofia(ev, pbx);
      if (e) out.push(e);
    }
  }
  return out;
}

function parseHeaders(text: string, urlEncoded: boolean): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) m.set(line.slice(0, i), urlEncoded ? decodeURIComponent(line.slice(i + 2)) : line.slice(i + 2));
  }
  return m;
}

function fromSofia(ev: Map<string, string>, pbx: string): AuthEvent | null {
  const sub = ev.get('Event-Subclass');
  const at = Math.round(Number(ev.get('Event-Date-Timestamp') ?? 0) / 1000);
  const num = (v: string | undefined): number | null => (v && Number.isFinite(Number(v)) ? Number(v) : null);
  const base = { pbx, at, service: 'sofia', userAgent: ev.get('user-agent') ?? null };
  switch (sub) {
    case 'sofia::register_attempt': {
      const address = ev.get('network-ip') ?? '';
      const username = ev.get('username') ?? null;
      const result = ev.get('auth-result');
      if (result === 'RENEWED' || result === 'SUCCESS') return { kind: 'AuthSucceeded', pbx, at, address, service: 'sofia', username };
      if (result !== 'FORBIDDEN') return null;
      return { kind: 'AuthFailed', ...base, address, port: num(ev.get('network-port')), username, reason: sub, attemptId: ev.get('call-id') ?? null };
    }
    case 'sofia::register_failure':
      // Recorded under the old subscription; tollguard no longer subscribes to it (it follows
      // the register_attempt FORBIDDEN of the same request: docs/decisions.md).
      return null;
    case 'sofia::wrong_call_state':
      return {
        kind: 'AuthFailed', ...base, address: ev.get('network_ip') ?? '', port: num(ev.get('network_port')),
        username: ev.get('from_user') ?? null, reason: sub, attemptId: null,
      };
    default:
      return null;
  }
}
