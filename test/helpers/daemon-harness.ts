import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AmiSimServer, SimCall as AmiCall } from '../../lib/sim/ami-server.js';
import type { EslSimServer, SimCall as EslCall } from '../../lib/sim/esl-server.js';

/**
 * What the daemon-level robustness tests (faults, crash, overload, security) share: a
 * config in the demo's shape with small link timings, a rate deck, waiting, and one face
 * over both simulators so a scenario is written once and played on Asterisk and FreeSWITCH.
 */

export const RATES = `prefix,rate_per_min,connect_fee,first_increment,next_increment,description
+1,0.010,0,6,6,United States / Canada
+44,0.600,0,1,1,United Kingdom
+49,0.025,0,1,1,Germany
+53,1.100,0,60,60,Cuba
`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms; resolves true when it holds, false after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

export interface HarnessConfig {
  dir: string;
  /** `name` defaults to `office`. */
  /** `trunks` is the YAML list (default `[trunk-uas]` / `[uas]`). */
  ami?: { port: number; secretVar: string; name?: string; trunks?: string };
  esl?: { port: number; passwordVar: string; eventFormat?: 'json' | 'plain'; trunks?: string };
  accounts: string;
  extra?: string;
  /** YAML lines under `destinations:` after `deny` (two-space indent), e.g. `lists:`. */
  destinations?: string;
  link?: string;
  mode?: 'enforce' | 'monitor';
  /** The rate deck (default RATES). */
  rates?: string;
  /** The alerts: block (default: no channels, no daily summary); null leaves it to `extra`. */
  alerts?: string | null;
  /** The log: block (default: info, no file). */
  log?: string;
}

/** Writes rates.csv and tollguard.yaml into `dir`; returns the config path. */
export function writeConfig(c: HarnessConfig): string {
  fs.writeFileSync(path.join(c.dir, 'rates.csv'), c.rates ?? RATES);
  const pbx: string[] = [];
  if (c.ami) pbx.push(`  - { name: ${c.ami.name ?? 'office'}, type: asterisk, host: 127.0.0.1, port: ${c.ami.port}, username: fraudguard, secret: "\${${c.ami.secretVar}}", trunks: ${c.ami.trunks ?? '[trunk-uas]'} }`);
  if (c.esl) pbx.push(`  - { name: branch, type: freeswitch, host: 127.0.0.1, port: ${c.esl.port}, password: "\${${c.esl.passwordVar}}", trunks: ${c.esl.trunks ?? '[uas]'}${c.esl.eventFormat ? `, eventFormat: ${c.esl.eventFormat}` : ''} }`);
  const text = `mode: ${c.mode ?? 'enforce'}
stateDir: ${c.dir}/state
home: { country: US, timezone: America/New_York }
pbx:
${pbx.join('\n')}
link: ${c.link ?? '{ connectTimeout: 500ms, actionTimeout: 500ms, keepaliveInterval: 300ms, keepaliveTimeout: 300ms, backoffInitial: 50ms, backoffMax: 300ms }'}
emergency: { numbers: ["933"] }
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
${c.destinations ?? ''}
rates: { file: ${c.dir}/rates.csv, currency: USD, unrated: deny }
accounts:
${c.accounts}
blocklist:
  maxRetry: 5
  findTime: 10m
  banTime: 1h
  ignore: ["::1"]
  firewall: { type: none }
control: { socket: ${c.dir}/control.sock }
${c.alerts === null ? '' : `alerts: ${c.alerts ?? '{ dailySummary: null }'}`}
log: ${c.log ?? '{ level: info, file: null }'}
${c.extra?.includes('precall:') ? '' : 'precall: { listen: "127.0.0.1:0", eslListen: "127.0.0.1:0" }'}
${c.extra ?? ''}`;
  const file = path.join(c.dir, 'tollguard.yaml');
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tollguard-${prefix}-`));
}

/** A placed call, whichever PBX. */
export interface PlacedCall {
  id: string;
  account: string;
  dialed: string;
  /** Ended, by anyone. */
  ended(): boolean;
  /** Ended by tollguard's Hangup / uuid_kill. */
  cutByUs(): boolean;
  answered(): boolean;
  /** The caller hangs up. */
  hangup(): void;
}

export interface PbxDriver {
  /** tollguard's name for this PBX in the config. */
  pbx: string;
  place(o: { account: string; user: string; dialed: string; answerAfterMs: number | null; hangupAfterMs?: number | null }): PlacedCall;
  /** Call ids (the trunk leg's Uniqueid / the B-leg's uuid) of the calls the PBX has now. */
  liveIds(): string[];
  drop(): void;
  freeze(): void;
  unfreeze(): void;
  authFailure(address: string, username: string): void;
}

export function amiDriver(sim: AmiSimServer): PbxDriver {
  const calls = new Set<AmiCall>();
  return {
    pbx: 'office',
    place(o) {
      const c = sim.call({ endpoint: o.user, account: o.account, dialed: o.dialed, answerAfterMs: o.answerAfterMs, hangupAfterMs: o.hangupAfterMs ?? null });
      calls.add(c);
      return {
        id: c.peerCallId, account: o.account, dialed: o.dialed,
        ended: () => c.state === 'ended', cutByUs: () => c.endedBy === 'action', answered: () => c.answeredAt !== null,
        hangup: () => c.hangup(),
      };
    },
    liveIds: () => sim.liveChannels().filter((ch) => ch.uniqueid !== ch.linkedid).map((ch) => ch.uniqueid),
    drop: () => sim.dropAllConnections(),
    freeze: () => sim.freeze(),
    unfreeze: () => sim.unfreeze(),
    authFailure: (address, username) => void sim.authFailure({ address, username, kind: 'wrong-password' }),
  };
}

export function eslDriver(sim: EslSimServer): PbxDriver {
  const killed = (c: EslCall): boolean => sim.commands.some((k) => k.line.startsWith('api uuid_kill ') && k.line.includes(c.bUuid));
  return {
    pbx: 'branch',
    place(o) {
      const c = sim.call({ user: o.user, account: o.account, dialed: o.dialed, answerAfterMs: o.answerAfterMs, hangupAfterMs: o.hangupAfterMs ?? null });
      return {
        id: c.bUuid, account: o.account, dialed: o.dialed,
        ended: () => c.endedAt !== null, cutByUs: () => c.endedAt !== null && killed(c), answered: () => c.answeredAt !== null,
        hangup: () => sim.hangup(c),
      };
    },
    liveIds: () => sim.liveCalls().map((c) => c.bUuid),
    drop: () => sim.dropAllConnections(),
    freeze: () => sim.freeze(),
    unfreeze: () => sim.unfreeze(),
    authFailure: (address, username) => sim.authFailure({ address, username, kind: 'wrong-password' }),
  };
}
