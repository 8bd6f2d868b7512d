import type { NumberInfo } from '../../numbers/number-info.js';
import { describeDestination } from '../../policy/evaluate.js';
import { finding, type IntelFinding } from '../facts.js';
import type { NumberLists } from '../number-lists.js';

/**
 * Number-range lists: every list covering the number gives a finding, whatever the other
 * rules say. A tripwire refuses the call and suspends (or restricts) its account at once: a
 * call to a freshly leased IRSF range is the fraudster's test before the pumping.
 */
export function listFindings(lists: NumberLists | undefined, account: string, n: NumberInfo): IntelFinding[] {
  if (!lists || n.e164 === null) return [];
  const out: IntelFinding[] = [];
  for (const m of lists.match(n.e164)) {
    const l = m.list;
    const rule = `destinations.lists[${m.index}]=${l.name}`;
    const where = `listed in ${l.name} (${l.file} line ${m.line})`;
    if (l.action === 'tripwire') {
      const then = l.profile !== null ? `restricted to profile ${l.profile}` : 'suspended';
      out.push(finding('TRIPWIRE', rule, `${account} called ${describeDestination(n)}, ${where}: a test call to a listed range; account ${then}`, {
        action: l.profile !== null ? 'restrict' : 'suspend', profile: l.profile, forMs: l.forMs,
      }, { refuse: true, critical: true }));
    } else {
      out.push(finding('DEST_LISTED', rule, `${account} called ${describeDestination(n)}, ${where}`, { action: l.action, profile: l.profile, forMs: l.forMs }));
    }
  }
  return out;
}
