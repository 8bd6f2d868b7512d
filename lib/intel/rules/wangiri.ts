import type { NumberInfo } from '../../numbers/number-info.js';
import type { WangiriConfig } from '../config.js';
import { finding, type InboundRing, type IntelFinding } from '../facts.js';

/**
 * Wangiri: a foreign number rings a phone once and hangs up, hoping to be called back at a
 * premium rate. An outbound international call to a number that did so within `within`.
 */
export function wangiriFinding(c: WangiriConfig, account: string, n: NumberInfo, ring: InboundRing | null, now: number): IntelFinding | null {
  if (!c.enabled || !n.international || n.e164 === null || ring === null) return null;
  if (now - ring.at > c.withinMs || ring.at > now || ring.ringMs > c.maxRingMs) return null;
  const ago = Math.max(1, Math.round((now - ring.at) / 60_000));
  return finding(
    'WANGIRI', `intel.wangiri.action=${c.action}`,
    `${account} calls back ${n.e164}, which rang ${ring.pbx} ${ago} min ago for ${Math.round(ring.ringMs / 1000)} s and hung up unanswered: a one-ring (Wangiri) call-back`, c,
  );
}
