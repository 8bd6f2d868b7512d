import type { PbxConfig } from '../config/types.js';
import { TrunkSet } from '../pbx/trunks.js';

/**
 * What the replay needs of the PBX the records come from: its trunks (which legs leave the
 * PBX, the tech prefix they strip), the accounts of carrier calls and of originates, and the
 * numbers the owner says ring local phones where a record cannot tell.
 */
export interface LegRules {
  pbx: string;
  trunks: TrunkSet;
  inboundAccount: string | null;
  originateAccount: string;
  /** Dialed numbers that ring local phones, for records that do not say where a call went. */
  internal: RegExp | null;
}

export function legRules(p: PbxConfig, internal: RegExp | null): LegRules {
  return { pbx: p.name, trunks: new TrunkSet(p.trunks), inboundAccount: p.inboundAccount, originateAccount: p.originateAccount, internal };
}

/** The account of a carrier's call sent out again: the PBX's inboundAccount, else the trunk it came by. */
export function inboundAccountOf(rules: LegRules, trunk: string | null): string {
  return rules.inboundAccount ?? trunk ?? rules.trunks.entries[0]?.name ?? 'inbound';
}
