import { ManualClock } from '../../lib/clock.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { PbxEvent } from '../../lib/pbx/events.js';
import { LocalPhones } from '../../lib/pbx/asterisk/endpoints.js';
import { AmiEventMapper } from '../../lib/pbx/asterisk/mapper.js';
import { FsDirectory } from '../../lib/pbx/freeswitch/directory.js';
import { FreeswitchEventMapper } from '../../lib/pbx/freeswitch/mapper.js';
import { TrunkSet } from '../../lib/pbx/trunks.js';

/** The lab PBXs' endpoints / users (test/fixtures/*\/conf*): three phones and the trunks. */
export const LAB_ENDPOINTS = ['1001', '1002', '1003', 'trunk-uas'];
export const LAB_USERS = ['1001', '1002', '1003'];

export type TrunkEntry = string | { name: string; stripPrefix: string };

export function trunkSet(entries: readonly TrunkEntry[]): TrunkSet {
  return new TrunkSet(entries.map((t) => (typeof t === 'string' ? { name: t, stripPrefix: null } : t)));
}

export interface MapperTestOptions {
  trunks?: TrunkEntry[];
  /** null = the PBX would not list them. */
  endpoints?: string[] | null;
  trunkAddresses?: string[];
  amiUsername?: string;
  log?: MemoryLogger;
  clock?: ManualClock;
}

export function amiMapper(emit: (e: PbxEvent) => void, o: MapperTestOptions = {}): AmiEventMapper {
  const trunks = trunkSet(o.trunks ?? ['trunk-uas']);
  const phones = new LocalPhones(trunks);
  phones.set(o.endpoints === undefined ? LAB_ENDPOINTS : o.endpoints);
  return new AmiEventMapper({
    pbx: 'pbx1', trunks, phones, inboundAccount: null, originateAccount: 'originate', amiUsername: o.amiUsername ?? 'fraudguard',
    clock: o.clock ?? new ManualClock(), log: o.log ?? new MemoryLogger(), emit,
  });
}

export function eslMapper(o: MapperTestOptions = {}): FreeswitchEventMapper {
  const trunks = trunkSet(o.trunks ?? ['uas']);
  const directory = new FsDirectory(trunks);
  directory.set(o.endpoints === undefined ? LAB_USERS : o.endpoints, ['uas', 'uas2']);
  return new FreeswitchEventMapper({
    pbx: 'fs1', trunks, trunkAddresses: o.trunkAddresses ?? [], directory, inboundAccount: null, originateAccount: 'originate',
    clock: o.clock ?? new ManualClock(), log: o.log ?? new MemoryLogger(),
  });
}
