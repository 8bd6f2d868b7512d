/**
 * The configuration of the fraud-intelligence rules (issue 17): their types as the daemon sees
 * them, the schema fragments the config schema includes, and the builder the loader calls.
 * Everything here is off by default except the number lists (empty) and the Wangiri alert.
 */
import { parseDuration } from '../duration.js';

/** What a rule does when it matches a call. */
export type IntelAction = 'alert' | 'refuse' | 'suspend' | 'restrict';
/** A number list may also be a tripwire: the call is refused and its account suspended or restricted at once. */
export type ListAction = IntelAction | 'tripwire';

/** How a rule acts: the action, and for `restrict` the profile and the period. */
export interface ActionConfig {
  action: IntelAction;
  /** Name of an entry of `profiles` (restrict; a tripwire with a profile restricts instead of suspending). */
  profile: string | null;
  /** How long a restriction lasts. */
  forMs: number;
}

export interface NumberListConfig extends Omit<ActionConfig, 'action'> {
  name: string;
  file: string;
  action: ListAction;
}

export interface BaselineConfig extends ActionConfig {
  enabled: boolean;
  /** The learning window; before it is full the rule only reports. */
  windowMs: number;
  newCountry: boolean;
  newNumberType: boolean;
  outsideHours: boolean;
  /** Calls in the current hour above this × the usual busiest hour (0 = off). */
  velocity: number;
  /** The usual busiest hour is taken as at least this many calls. */
  minCallsPerHour: number;
  /** Spend today above this × the usual day (0 = off). */
  spend: number;
  /** The usual day's spend is taken as at least this much. */
  minSpendPerDay: number;
}

export interface AuthLinkConfig extends ActionConfig {
  enabled: boolean;
  /** A successful authentication from an address with at least this many failures within blocklist.findTime. */
  failures: number;
  /** A successful authentication from a country the user never authenticated from. */
  newCountry: boolean;
  /** MMDB IP-to-country database; null = the bundled one (@ip-location-db/geo-whois-asn-country-mmdb). */
  geoDatabase: string | null;
}

export interface WangiriConfig extends ActionConfig {
  enabled: boolean;
  /** How far back an inbound ring counts. */
  withinMs: number;
  /** An inbound call that rang at most this long without answer is a one-ring bait. */
  maxRingMs: number;
}

export interface IntelConfig {
  priceCeiling: ActionConfig;
  baseline: BaselineConfig;
  auth: AuthLinkConfig;
  wangiri: WangiriConfig;
}

/** The profile suspect accounts get unless the configuration defines its own `suspect`. */
export const SUSPECT_PROFILE = { international: false, maxConcurrent: 1 } as const;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const DEFAULT_INTEL: IntelConfig = {
  priceCeiling: { action: 'refuse', profile: null, forMs: DAY },
  baseline: {
    enabled: false, action: 'alert', profile: null, forMs: DAY, windowMs: 30 * DAY, newCountry: true, newNumberType: false, outsideHours: true,
    velocity: 3, minCallsPerHour: 5, spend: 3, minSpendPerDay: 1,
  },
  auth: { enabled: false, action: 'restrict', profile: 'suspect', forMs: HOUR, failures: 3, newCountry: false, geoDatabase: null },
  wangiri: { enabled: true, action: 'alert', profile: null, forMs: DAY, withinMs: 24 * HOUR, maxRingMs: 15_000 },
};

// ---- schema ----------------------------------------------------------------------------

type Schema = Record<string, unknown>;

const duration = (description: string, dflt: string): Schema => ({
  type: ['string', 'number'], tgDuration: true, default: dflt,
  description: `${description} Duration: \`30s\`, \`10m\`, \`1h\`, \`2d\`, \`1w\`, or seconds.`,
});

const actionProps = (dflt: IntelAction, what: string, forDefault: string, profileDefault?: string, actions: IntelAction[] = ['alert', 'refuse', 'suspend', 'restrict']): Schema => ({
  action: {
    enum: actions, default: dflt,
    description: `What a match does: \`alert\` only, \`refuse\` the call, \`suspend\` the account (and refuse the call), or \`restrict\` the account to \`profile\` for \`for\` (the call is judged under the profile too).${what ? ` ${what}` : ''}`,
  },
  profile: { type: ['string', 'null'], ...(profileDefault ? { default: profileDefault } : {}), description: 'With `restrict`: the entry of `profiles` the account is held to.' },
  for: duration('With `restrict`: how long the restriction lasts.', forDefault),
});

export const numberListsSchema: Schema = {
  type: 'array',
  default: [],
  description: 'Number-range lists (IRSF test ranges, leased ranges...): CSV files of E.164 prefixes (`+37128`) or ranges (`+3712800000-+3712899999`), one a line, `#` comments; reloaded with the config (SIGHUP). Checked for every external call, whatever the other rules say.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'file', 'action'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Name of the list in reasons, logs and alerts.' },
      file: { type: 'string', minLength: 1, description: 'Path of the CSV file.' },
      action: {
        enum: ['alert', 'refuse', 'suspend', 'restrict', 'tripwire'],
        description: '`tripwire`: a call to the list, even unanswered, is refused and its account suspended at once (restricted to `profile` when one is given) with a critical alert: the test call before the pumping. Else as the other rules: `alert`, `refuse`, `suspend`, `restrict`.',
      },
      profile: { type: ['string', 'null'], description: 'With `restrict` (or `tripwire`): the entry of `profiles` the account is held to.' },
      for: duration('With `restrict` (or `tripwire` with a profile): how long.', '24h'),
    },
  },
};

export const intelSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'Fraud intelligence: rules that learn what is normal and link authentication to calls (docs/intelligence.md). Every one honours `mode: monitor`.',
  properties: {
    priceCeiling: {
      type: 'object', additionalProperties: false,
      description: 'Destinations whose deck rate is above the account\'s `maxRatePerMinute` (only accounts that set it).',
      properties: actionProps('refuse', '', '24h'),
    },
    baseline: {
      type: 'object', additionalProperties: false,
      description: 'What each account usually does, learned from its own calls: countries and number types called, hours and weekdays, calls per hour, spend per day. Stored with the state (and shared through Redis).',
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Learn and judge. Off by default.' },
        window: duration('The learning window. Until an account has been seen this long the rule only reports (alerts marked `learning`).', '30d'),
        newCountry: { type: 'boolean', default: true, description: 'An international call to a country the account did not call within the window.' },
        newNumberType: { type: 'boolean', default: false, description: 'A call to a number type (mobile, premium-rate, ...) the account did not call within the window.' },
        outsideHours: { type: 'boolean', default: true, description: 'An international call at an hour or on a weekday the account does not usually call at.' },
        velocity: { type: 'number', minimum: 0, default: 3, description: 'Calls within the current hour above this × the account\'s usual busiest hour (0 = off).' },
        minCallsPerHour: { type: 'integer', minimum: 1, default: 5, description: 'The usual busiest hour is taken as at least this many calls (quiet accounts).' },
        spend: { type: 'number', minimum: 0, default: 3, description: 'Spend today above this × the account\'s usual day (0 = off).' },
        minSpendPerDay: { type: 'number', minimum: 0, default: 1, description: 'The usual day\'s spend is taken as at least this much (rates currency).' },
        ...actionProps('alert', '', '24h'),
      },
    },
    auth: {
      type: 'object', additionalProperties: false,
      description: 'Authentication and calls linked: a user whose successful authentication comes from an address that failed recently, or from a country it never authenticated from, becomes suspect.',
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Watch successful authentications. Off by default.' },
        failures: { type: 'integer', minimum: 1, default: 3, description: 'Failed attempts from the address within blocklist.findTime that make its success suspect (the blocklist bans at maxRetry).' },
        newCountry: { type: 'boolean', default: false, description: 'Also a success from a country (offline IP-to-country database) the user never authenticated from before.' },
        geoDatabase: { type: ['string', 'null'], default: null, description: 'MMDB country database (ip-location-db or GeoLite2 Country); null = the bundled @ip-location-db/geo-whois-asn-country-mmdb (CC BY 4.0 NRO data).' },
        ...actionProps('restrict', 'No call is being made when a user authenticates, so there is no `refuse`. Default: `restrict` to the `suspect` profile (international off, one call at a time) for 1 h.', '1h', 'suspect', ['alert', 'suspend', 'restrict']),
      },
    },
    wangiri: {
      type: 'object', additionalProperties: false,
      description: 'Wangiri (one-ring) call-back: an outbound international call to a number that called in recently and rang briefly without answer. On by default, as an alert.',
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Watch inbound rings and the calls back.' },
        within: duration('How far back an inbound ring counts.', '24h'),
        maxRing: duration('An inbound call that rang at most this long without answer is a bait.', '15s'),
        ...actionProps('alert', '', '24h'),
      },
    },
  },
};

// ---- building from the validated YAML ------------------------------------------------

type Raw = Record<string, unknown>;
type At = (segs: (string | number)[], message: string) => void;

function ms(v: unknown, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  return parseDuration(v as string | number) ?? dflt;
}

function action(raw: Raw, d: ActionConfig): ActionConfig {
  return {
    action: (raw.action as IntelAction | undefined) ?? d.action,
    profile: raw.profile === undefined ? d.profile : (raw.profile as string | null),
    forMs: ms(raw.for, d.forMs),
  };
}

/** A `restrict` names a profile that exists. */
function checkProfile(a: { action: string; profile: string | null }, segs: (string | number)[], profiles: ReadonlySet<string>, at: At): void {
  if (a.action === 'restrict' && a.profile === null) at([...segs, 'profile'], 'action restrict needs a profile (an entry of `profiles`)');
  if (a.profile !== null && !profiles.has(a.profile)) at([...segs, 'profile'], `no profile "${a.profile}" in profiles (have: ${[...profiles].join(', ')})`);
}

export function buildIntel(raw: Raw | undefined, profiles: ReadonlySet<string>, at: At): IntelConfig {
  const r = raw ?? {};
  const d = DEFAULT_INTEL;
  const pc = (r.priceCeiling ?? {}) as Raw;
  const b = (r.baseline ?? {}) as Raw;
  const a = (r.auth ?? {}) as Raw;
  const w = (r.wangiri ?? {}) as Raw;
  const intel: IntelConfig = {
    priceCeiling: action(pc, d.priceCeiling),
    baseline: {
      ...d.baseline, ...action(b, d.baseline),
      enabled: (b.enabled as boolean | undefined) ?? d.baseline.enabled,
      windowMs: ms(b.window, d.baseline.windowMs),
      newCountry: (b.newCountry as boolean | undefined) ?? d.baseline.newCountry,
      newNumberType: (b.newNumberType as boolean | undefined) ?? d.baseline.newNumberType,
      outsideHours: (b.outsideHours as boolean | undefined) ?? d.baseline.outsideHours,
      velocity: (b.velocity as number | undefined) ?? d.baseline.velocity,
      minCallsPerHour: (b.minCallsPerHour as number | undefined) ?? d.baseline.minCallsPerHour,
      spend: (b.spend as number | undefined) ?? d.baseline.spend,
      minSpendPerDay: (b.minSpendPerDay as number | undefined) ?? d.baseline.minSpendPerDay,
    },
    auth: {
      ...action(a, d.auth),
      enabled: (a.enabled as boolean | undefined) ?? d.auth.enabled,
      failures: (a.failures as number | undefined) ?? d.auth.failures,
      newCountry: (a.newCountry as boolean | undefined) ?? d.auth.newCountry,
      geoDatabase: (a.geoDatabase as string | null | undefined) ?? null,
    },
    wangiri: {
      ...action(w, d.wangiri),
      enabled: (w.enabled as boolean | undefined) ?? d.wangiri.enabled,
      withinMs: ms(w.within, d.wangiri.withinMs),
      maxRingMs: ms(w.maxRing, d.wangiri.maxRingMs),
    },
  };
  checkProfile(intel.priceCeiling, ['intel', 'priceCeiling'], profiles, at);
  checkProfile(intel.baseline, ['intel', 'baseline'], profiles, at);
  checkProfile(intel.auth, ['intel', 'auth'], profiles, at);
  checkProfile(intel.wangiri, ['intel', 'wangiri'], profiles, at);
  if (intel.baseline.windowMs < DAY) at(['intel', 'baseline', 'window'], 'is shorter than a day: the baseline learns per day');
  return intel;
}

export function buildLists(raw: Raw[] | undefined, profiles: ReadonlySet<string>, at: At): NumberListConfig[] {
  const names = new Set<string>();
  return (raw ?? []).map((l, i) => {
    const list: NumberListConfig = {
      name: l.name as string, file: l.file as string, action: l.action as ListAction,
      profile: (l.profile as string | null | undefined) ?? null, forMs: ms(l.for, DAY),
    };
    if (names.has(list.name)) at(['destinations', 'lists', i, 'name'], `duplicate list name "${list.name}"`);
    names.add(list.name);
    checkProfile(list, ['destinations', 'lists', i], profiles, at);
    return list;
  });
}
