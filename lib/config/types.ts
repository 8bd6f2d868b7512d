import type { IntelConfig, NumberListConfig } from '../intel/config.js';

/**
 * The validated configuration, as the rest of the daemon sees it. The YAML schema
 * (lib/config/schema.ts) is the interface for users; durations are already in ms here,
 * and the defaults are filled in.
 */

export type Mode = 'enforce' | 'monitor';

/** A carrier trunk, and the tech prefix its dialplan routes add (the carrier strips it). */
export interface TrunkConfig {
  name: string;
  stripPrefix: string | null;
}

interface PbxCommon {
  name: string;
  host: string;
  port: number;
  /** PJSIP endpoint names / channel technology prefixes (Asterisk), sofia gateways (FreeSWITCH). */
  trunks: TrunkConfig[];
  /** Addresses of the trunks (never banned). */
  trunkAddresses: string[];
  /** Account of a call from a trunk sent out again; null = the name of the trunk it came by. */
  inboundAccount: string | null;
  /** Account of a call originated onto a trunk without an accountcode. */
  originateAccount: string;
  /** AstDB family / mod_db realm the dialplan hooks read. */
  dbFamily: string;
}

export interface AsteriskPbxConfig extends PbxCommon {
  type: 'asterisk';
  username: string;
  secret: string;
}

export interface FreeswitchPbxConfig extends PbxCommon {
  type: 'freeswitch';
  password: string;
  /** Event format on the wire. */
  eventFormat: 'json' | 'plain';
}

export type PbxConfig = AsteriskPbxConfig | FreeswitchPbxConfig;

/** Timing of every PBX link (shared by AMI and ESL). */
export interface LinkTiming {
  connectTimeoutMs: number;
  actionTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** A link that has not answered a keep-alive within this is declared dead. */
  keepaliveTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Largest frame accepted before the connection is considered garbage and reset. */
  maxFrameBytes: number;
}

export type SpendWindow = 'hour' | 'day' | 'month';
export type SpendLimits = Partial<Record<SpendWindow, number>>;

export interface AccountConfig {
  international: boolean;
  /** ISO countries, E.164 prefixes ("+44"), or number types allowed when international. */
  allow: string[];
  /** Extra denials for this account, same forms as destinations.deny. */
  deny: string[];
  maxConcurrent: number | null;
  maxCallsPerMinute: number | null;
  /** Calls to consecutive / near-identical numbers within sequentialWindowMs. */
  maxSequential: number | null;
  spend: SpendLimits;
  maxCallCost: number | null;
  /** Destinations whose deck rate per minute is above this are refused (intel.priceCeiling). */
  maxRatePerMinute?: number | null;
  maxCallDurationMs: number | null;
  /** e.g. "Mon-Fri 08:00-19:00"; null = any time. */
  internationalHours: string | null;
  sourceNets: string[];
  callerIds: string[];
  onBreach: 'cut' | 'suspend';
}

export interface RatesConfig {
  file: string | null;
  currency: string;
  /** What to do with a destination that has no rate: deny, or rate it at defaultRate. */
  unrated: 'deny' | 'default';
  defaultRate: { perMinute: number; connectFee: number; firstIncrement: number; nextIncrement: number };
}

export interface BlocklistConfig {
  enabled: boolean;
  maxRetry: number;
  findTimeMs: number;
  banTimeMs: number;
  maxBanTimeMs: number;
  /** Distinct usernames tried from one source within findTime that count as a ban. */
  maxUsernames: number;
  ignore: string[];
  /** Addresses that authenticated successfully are not banned for this long (0 = off). */
  trustAuthenticatedMs: number;
  scannerUserAgents: string[];
  /** How many failures a scanner User-Agent weighs. */
  scannerWeight: number;
  /** Bound on the number of sources tracked at once. */
  maxTracked: number;
  /** Per-source limit of new SIP packets in the kernel; null = none. */
  floodLimit: { rate: number; burst: number } | null;
  firewall: {
    type: 'nftables' | 'none';
    table: string;
    ports: number[];
    /** Also delete a banned source's conntrack entries (batched; the drop does not need it). */
    conntrack: boolean;
    /** How often the kernel's table is compared with the bans and repaired (0 = never). */
    verifyEveryMs: number;
  };
}

export interface AlertsConfig {
  webhook: { url: string; headers: Record<string, string> } | null;
  email: { host: string; port: number; secure: boolean; from: string; to: string[]; user: string | null; password: string | null } | null;
  syslog: { path: string; facility: string } | null;
  dedupWindowMs: number;
  /** node-cron expression for the daily summary; null = off. */
  dailySummary: string | null;
}

/** The pre-call servers the dialplan hooks ask before a call leaves (docs/dialplan.md). */
export interface PrecallConfig {
  /** Asterisk FastAGI server `host:port`; null = off. */
  listen: string | null;
  /** FreeSWITCH outbound event-socket server `host:port`; null = off. */
  eslListen: string | null;
  /** How long a hook waits for an answer before its fallback (where the PBX can bound the wait). */
  timeoutMs: number;
  /** What the hooks do with an international call the flags allow while tollguard cannot be asked. */
  whenDown: 'allow' | 'deny';
}

export interface Config {
  mode: Mode;
  stateDir: string;
  home: { country: string; timezone: string };
  pbx: PbxConfig[];
  link: LinkTiming;
  emergency: { numbers: string[] };
  destinations: { deny: string[]; allow: string[]; invalid: 'deny' | 'allow'; lists?: NumberListConfig[] };
  accounts: Record<string, AccountConfig>;
  /** Stricter rule sets an account can be restricted to for a while (built on no defaults: only what they say). */
  profiles: Record<string, AccountConfig>;
  intel: IntelConfig;
  global: { spend: SpendLimits; maxConcurrent: number | null };
  sequentialWindowMs: number;
  rates: RatesConfig;
  blocklist: BlocklistConfig;
  /** retentionMs: how long ended calls, audit records and expired bans are kept. */
  store: ({ type: 'sqlite' } | { type: 'redis'; url: string; prefix: string; refreshEveryMs: number }) & { retentionMs: number };
  control: { socket: string };
  metrics: { listen: string | null; linkDownAfterMs: number };
  precall: PrecallConfig;
  alerts: AlertsConfig;
  log: { level: 'error' | 'warn' | 'info' | 'debug'; file: string | null };
}
