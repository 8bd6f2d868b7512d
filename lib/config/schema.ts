import { intelSchema, numberListsSchema } from '../intel/config.js';

/**
 * The configuration file's schema: the product's interface. Every property carries a
 * description, from which docs/configuration.md is generated (`tollguard config-reference`),
 * so the reference cannot drift from what the loader accepts.
 */
type Schema = Record<string, unknown>;

const duration = (description: string, dflt?: string): Schema => ({
  type: ['string', 'number'],
  tgDuration: true,
  description: `${description} Duration: \`30s\`, \`10m\`, \`1h\`, \`2d\`, \`1w\`, or seconds.`,
  ...(dflt !== undefined ? { default: dflt } : {}),
});
const money = (description: string): Schema => ({ type: 'number', minimum: 0, description });
const strings = (description: string, dflt?: string[]): Schema => ({
  type: 'array',
  items: { type: 'string', minLength: 1 },
  description,
  ...(dflt ? { default: dflt } : {}),
});
const nullableInt = (description: string): Schema => ({ type: ['integer', 'null'], minimum: 1, description });

const spendLimits: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'Budgets in the rates currency per calendar window (in home.timezone). Spend = ended calls + what live calls have cost so far.',
  properties: {
    hour: money('Budget per calendar hour.'),
    day: money('Budget per calendar day.'),
    month: money('Budget per calendar month.'),
  },
};

const destinationList = (what: string): Schema =>
  strings(
    `${what} Entries are E.164 prefixes (\`+881\`), ISO 3166 country codes (\`CU\`), or number types (\`premium-rate\`, \`satellite\`, \`toll-free\`, \`shared-cost\`, \`mobile\`, \`fixed-line\`, \`voip\`, \`personal-number\`, \`pager\`, \`uan\`, \`voicemail\`, \`unknown\`, \`invalid\`).`,
  );

export const accountSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'Rules of one account (AccountCode, else endpoint name). Keys not set fall back to the `"*"` entry.',
  properties: {
    international: { type: 'boolean', description: 'May this account call abroad at all. Off by default.' },
    allow: destinationList('When international is on: only these destinations (empty = every one not denied).'),
    deny: destinationList('Destinations denied to this account on top of destinations.deny.'),
    maxConcurrent: nullableInt('Most calls of this account at once.'),
    maxCallsPerMinute: nullableInt('Most call attempts of this account within any 60 s.'),
    maxSequential: nullableInt('Most calls to consecutive or near-identical numbers within sequentialWindow (IRSF range walk).'),
    spend: spendLimits,
    maxCallCost: { type: ['number', 'null'], minimum: 0, description: 'Most one call may cost; it is cut at that instant.' },
    maxRatePerMinute: { type: ['number', 'null'], minimum: 0, description: 'Price ceiling: destinations whose deck rate per minute is above this get intel.priceCeiling.action (refused by default).' },
    maxCallDuration: { ...duration('Longest a call may last (from answer; from start while ringing).'), type: ['string', 'number', 'null'] },
    internationalHours: {
      type: ['string', 'null'],
      description: 'When international calls are allowed, in home.timezone, e.g. `"Mon-Fri 08:00-19:00"` or `"Mon-Fri 08:00-19:00, Sat 09:00-13:00"`.',
    },
    sourceNets: strings('Networks (CIDR) calls of this account may come from, where the PBX tells the source. Empty = any.'),
    callerIds: strings('Caller IDs (numbers or prefixes) this account may present. Empty = any.'),
    onBreach: { enum: ['cut', 'suspend'], description: '`cut` the breaching call, or also `suspend` the account until an operator resumes it.' },
  },
};

const pbxCommon = {
  name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Name of this PBX in logs, metrics and the CLI.' },
  host: { type: 'string', minLength: 1, description: 'Address of the manager interface.' },
  trunks: {
    type: 'array',
    default: [],
    description: 'Carrier trunks: PJSIP endpoint / channel names (Asterisk) or sofia gateway names (FreeSWITCH), checked against the PBX at every connect. A call dialed out through one of them is external; so is a dial to anything that is not positively a local phone (a misspelt trunk leaves the real trunk guarded). An entry is a name, or `{ name, stripPrefix }` where `stripPrefix` is a tech prefix the dialplan adds and the carrier strips (e.g. `"1010"`), so the number judged is the one the carrier routes.',
    items: {
      oneOf: [
        { type: 'string', minLength: 1 },
        {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1 },
            stripPrefix: { type: 'string', pattern: '^[0-9*#]{1,10}$', description: 'Digits the dialplan puts before the number for this carrier.' },
          },
        },
      ],
    },
  },
  inboundAccount: {
    type: 'string', minLength: 1,
    description: 'Account a call that came in from a trunk is judged and billed under when the dialplan sends it out again (call forwarding, follow-me, transfers of inbound calls), unless the PBX gave it an accountcode. Default: the name of the trunk it came in by. Never taken from a SIP header the caller controls.',
  },
  originateAccount: {
    type: 'string', minLength: 1, default: 'originate',
    description: 'Account of a call originated onto a trunk (AMI Originate, call files, ESL originate) without an accountcode.',
  },
  trunkAddresses: strings('Addresses or CIDRs of the trunks: never banned.', []),
  dbFamily: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', default: 'tollguard', description: 'AstDB family / FreeSWITCH db realm where the daemon writes the flags the dialplan hooks read.' },
};

export const configSchema: Schema = {
  $id: 'tollguard-config',
  type: 'object',
  additionalProperties: false,
  required: ['pbx'],
  properties: {
    mode: { enum: ['enforce', 'monitor'], default: 'enforce', description: '`monitor` watches and says what it would have done, and changes nothing on the PBX or the firewall.' },
    stateDir: { type: 'string', minLength: 1, default: '/var/lib/tollguard', description: 'Where the SQLite state lives.' },
    home: {
      type: 'object',
      additionalProperties: false,
      required: ['country'],
      description: 'Where the PBX is: decides national vs international and the emergency numbers.',
      properties: {
        country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166 country code, e.g. `US`, `GB`, `DE`.' },
        timezone: { type: 'string', default: 'UTC', description: 'IANA time zone for budgets windows and hours, e.g. `America/New_York`.' },
      },
    },
    pbx: {
      type: 'array',
      minItems: 1,
      description: 'The PBXs this daemon guards. Asterisk and FreeSWITCH may be mixed.',
      items: {
        type: 'object',
        required: ['name', 'type', 'host'],
        properties: { type: { enum: ['asterisk', 'freeswitch'] } },
        if: { properties: { type: { const: 'asterisk' } } },
        then: {
          additionalProperties: false,
          required: ['username', 'secret'],
          properties: {
            ...pbxCommon,
            type: { const: 'asterisk', description: '`asterisk` (AMI) or `freeswitch` (ESL).' },
            port: { type: 'integer', minimum: 1, maximum: 65535, default: 5038, description: 'AMI port.' },
            username: { type: 'string', minLength: 1, description: 'AMI user (manager.conf).' },
            secret: { type: 'string', minLength: 1, description: 'AMI secret. Use `${ENV_VAR}`.' },
          },
        },
        else: {
          additionalProperties: false,
          required: ['password'],
          properties: {
            ...pbxCommon,
            type: { const: 'freeswitch' },
            port: { type: 'integer', minimum: 1, maximum: 65535, default: 8021, description: 'ESL port.' },
            password: { type: 'string', minLength: 1, description: 'ESL password (event_socket.conf.xml). Use `${ENV_VAR}`.' },
            eventFormat: { enum: ['json', 'plain'], default: 'json', description: 'ESL event format.' },
          },
        },
      },
    },
    link: {
      type: 'object',
      additionalProperties: false,
      description: 'Timing of every PBX link.',
      properties: {
        connectTimeout: duration('Time allowed to open the TCP connection.', '5s'),
        actionTimeout: duration('Time allowed for an answer to an action or api command.', '5s'),
        keepaliveInterval: duration('Keep-alive period.', '4s'),
        keepaliveTimeout: duration('A keep-alive not answered within this marks the link dead.', '4s'),
        backoffInitial: duration('First reconnect delay (doubles, with jitter).', '500ms'),
        backoffMax: duration('Longest reconnect delay.', '30s'),
        maxFrameBytes: { type: 'integer', minimum: 65536, default: 4194304, description: 'Largest PBX message accepted; larger ones are dropped and logged.' },
      },
    },
    emergency: {
      type: 'object',
      additionalProperties: false,
      description: 'Emergency numbers are never cut nor blocked, whatever the rules. The home country\'s own list (libphonenumber) always applies; add local forms here.',
      properties: { numbers: strings('Extra emergency numbers, e.g. `933` (US address test) or `9911` (with an outside-line prefix).', []) },
    },
    destinations: {
      type: 'object',
      additionalProperties: false,
      description: 'Destination rules for every account.',
      properties: {
        deny: destinationList('Always denied, for every account.'),
        allow: destinationList('Allowed for every account even when its international calling is off (e.g. `CA` from the US).'),
        lists: numberListsSchema,
        invalid: {
          enum: ['deny', 'allow'],
          default: 'deny',
          description: 'Digits that are a valid number neither as the home country dials them nor as E.164 digits sent without `+` (type `invalid`): `deny` refuses them on external calls (reason DEST_INVALID), `allow` leaves them to the other rules, which judge them international.',
        },
      },
    },
    accounts: {
      type: 'object',
      description: 'Per-account rules. `"*"` gives the defaults of every account.',
      additionalProperties: accountSchema,
    },
    profiles: {
      type: 'object',
      description: 'Stricter rule sets an account can be restricted to for a while (`restrict` actions of intel rules and lists). Same keys as an account; only the keys given apply, and a restricted call must pass both its account\'s rules and the profile. `suspect` exists by default: `{ international: false, maxConcurrent: 1 }`.',
      additionalProperties: accountSchema,
    },
    intel: intelSchema,
    global: {
      type: 'object',
      additionalProperties: false,
      description: 'Limits over all accounts together.',
      properties: { spend: spendLimits, maxConcurrent: nullableInt('Most external calls at once over all accounts.') },
    },
    sequentialWindow: duration('Window of the sequential-dialing rule.', '10m'),
    rates: {
      type: 'object',
      additionalProperties: false,
      description: 'The rate deck: CSV `prefix,rate_per_min,connect_fee,first_increment,next_increment[,description]`.',
      properties: {
        file: { type: ['string', 'null'], description: 'Path of the CSV rate deck (a relative one is read from the config file\'s directory). Without one, spend rules are off.' },
        currency: { type: 'string', pattern: '^[A-Z]{3}$', default: 'USD', description: 'Currency of rates and budgets.' },
        unrated: { enum: ['deny', 'default'], default: 'deny', description: 'Destinations without a rate: `deny`, or rate them at defaultRate.' },
        defaultRate: {
          type: 'object',
          additionalProperties: false,
          description: 'Rate used for unrated destinations when unrated is `default`.',
          properties: {
            perMinute: money('Price per minute.'),
            connectFee: money('Price at answer.'),
            firstIncrement: { type: 'integer', minimum: 1, description: 'First billing increment, seconds.' },
            nextIncrement: { type: 'integer', minimum: 1, description: 'Next billing increments, seconds.' },
          },
        },
      },
    },
    blocklist: {
      type: 'object',
      additionalProperties: false,
      description: 'Bans of sources that fail SIP/AMI authentication.',
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Turns the blocklist on or off.' },
        maxRetry: { type: 'integer', minimum: 1, default: 5, description: 'Failed attempts within findTime that ban a source.' },
        findTime: duration('Window in which failures are counted.', '10m'),
        banTime: duration('First ban length; each repeat ban doubles.', '1h'),
        maxBanTime: duration('Longest ban.', '1w'),
        maxUsernames: { type: 'integer', minimum: 1, default: 3, description: 'Distinct usernames tried from one source within findTime that ban it (enumeration).' },
        ignore: strings('Addresses and CIDRs never banned (your own networks).', ['127.0.0.0/8', '::1']),
        trustAuthenticated: duration('Do not ban a source that authenticated successfully within this (0 = off: a stolen password would whitelist the attacker).', '0s'),
        scannerUserAgents: strings('SIP User-Agents of scanners (case-insensitive substrings); FreeSWITCH only, AMI does not report it.', ['friendly-scanner', 'sipvicious', 'sipcli', 'VaxSIPUserAgent', 'sip-scan', 'iWar', 'sundayddr']),
        scannerWeight: { type: 'integer', minimum: 1, default: 3, description: 'How many failures one attempt from a scanner User-Agent counts for.' },
        maxTracked: { type: 'integer', minimum: 100, default: 100000, description: 'Most sources tracked at once (memory bound: about 600 bytes each).' },
        floodLimit: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['rate'],
          default: null,
          description: "Per-source limit in the kernel (tollguard's nftables table) on new SIP packets to `firewall.ports`: UDP datagrams and TCP connection attempts over `rate` per second, after a `burst`, are dropped before the PBX sees them (counted in `tollguard_flood_dropped_packets_total`). Ignored and trunk addresses are never limited. Off when null; e.g. `{ rate: 50, burst: 100 }`.",
          properties: {
            rate: { type: 'integer', minimum: 1, description: 'Packets per second per source.' },
            burst: { type: 'integer', minimum: 1, description: 'Packets a source may send at once above the rate (default: twice the rate).' },
          },
        },
        firewall: {
          type: 'object',
          additionalProperties: false,
          description: 'Where bans are enforced.',
          properties: {
            type: { enum: ['nftables', 'none'], default: 'nftables', description: '`nftables` (own table and sets) or `none` (log only).' },
            table: { type: 'string', pattern: '^[A-Za-z0-9_]{1,32}$', default: 'tollguard', description: 'nftables table (family inet).' },
            ports: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 65535 }, default: [5060, 5061], description: 'Ports dropped for banned sources (UDP and TCP).' },
            conntrack: { type: 'boolean', default: false, description: "Also delete a banned source's conntrack entries (one `conntrack` process per batch of bans). Not needed to stop its traffic: the drop runs before connection tracking; it only frees the conntrack table sooner." },
            verifyEvery: duration('How often the table is compared with the bans and repaired when someone else removed it or its elements (`systemctl reload nftables` runs `flush ruleset`). `0s` = never.', '30s'),
          },
        },
      },
    },
    store: {
      type: 'object',
      description: 'Durable state: `sqlite` (a file in stateDir) or `redis` (shared by several nodes).',
      required: ['type'],
      properties: {
        type: { enum: ['sqlite', 'redis'], default: 'sqlite', description: '`sqlite` or `redis`.' },
        url: { type: 'string', description: 'Redis URL, e.g. `redis://127.0.0.1:6379/0`.' },
        prefix: { type: 'string', default: 'tollguard:', description: 'Redis key prefix.' },
        refreshEvery: duration("Redis only: how often other nodes' ended calls, suspensions and resumes are read back (their live calls are not seen). `0s` = only when a window rolls over.", '15s'),
        retention: duration('How long ended calls, audit records and expired bans (their escalation history) are kept. At least `32d` (a monthly budget reads the whole month). SQLite prunes every 6 hours in small steps; Redis lets the keys expire.', '90d'),
      },
      if: { properties: { type: { const: 'redis' } } },
      then: { required: ['url'] },
      additionalProperties: false,
    },
    control: {
      type: 'object',
      additionalProperties: false,
      description: 'The control socket used by the CLI.',
      properties: { socket: { type: 'string', default: '/run/tollguard/control.sock', description: 'Unix socket path (mode 0660).' } },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      description: 'Prometheus metrics and health.',
      properties: {
        listen: { type: ['string', 'null'], default: null, description: '`host:port` of /metrics and /healthz, e.g. `127.0.0.1:9464`. Off when null.' },
        linkDownAfter: duration('/healthz fails when a PBX link has been down this long.', '60s'),
      },
    },
    precall: {
      type: 'object',
      additionalProperties: false,
      description: 'Pre-call authorization: the dialplan hooks ask tollguard before a call leaves (docs/dialplan.md), get allow or deny and the seconds the call may last, and the PBX itself ends the call at that limit. Each server listens only when a PBX of its type is configured.',
      properties: {
        listen: { type: ['string', 'null'], default: '127.0.0.1:4573', description: '`host:port` of the FastAGI server the Asterisk hook calls (`AGI(agi://127.0.0.1:4573/...)`). Off when null.' },
        eslListen: { type: ['string', 'null'], default: '127.0.0.1:8084', description: '`host:port` of the outbound event-socket server the FreeSWITCH hook connects to (`socket 127.0.0.1:8084 async full`). Off when null.' },
        timeout: duration('How long the Asterisk hook waits for an answer before it falls back (needs func_timeout; FreeSWITCH has its own fixed wait, see docs/dialplan.md).', '300ms'),
        whenDown: { enum: ['allow', 'deny'], default: 'deny', description: 'When tollguard cannot be asked, the hooks apply the flags, then this to international calls the flags let through. Emergency numbers never wait for anything.' },
      },
    },
    alerts: {
      type: 'object',
      additionalProperties: false,
      description: 'Alerts to people. A failing channel never delays enforcement.',
      properties: {
        webhook: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['url'],
          description: 'JSON POST of every alert.',
          properties: { url: { type: 'string', pattern: '^https?://' }, headers: { type: 'object', additionalProperties: { type: 'string' } } },
        },
        email: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['host', 'from', 'to'],
          description: 'Email over SMTP.',
          properties: {
            host: { type: 'string' },
            port: { type: 'integer', default: 587 },
            secure: { type: 'boolean', default: false },
            from: { type: 'string' },
            to: { type: 'array', items: { type: 'string' }, minItems: 1 },
            user: { type: ['string', 'null'] },
            password: { type: ['string', 'null'], description: 'SMTP password. Use `${ENV_VAR}`.' },
          },
        },
        syslog: {
          type: ['object', 'null'],
          additionalProperties: false,
          description: 'Syslog (local socket).',
          properties: { path: { type: 'string', default: '/dev/log' }, facility: { type: 'string', default: 'auth' } },
        },
        dedupWindow: duration('Identical alerts within this are sent once.', '10m'),
        dailySummary: { type: ['string', 'null'], default: '0 8 * * *', description: 'cron expression of the daily summary (null = off).' },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      description: 'Logging (JSON lines).',
      properties: {
        level: { enum: ['error', 'warn', 'info', 'debug'], default: 'info' },
        file: { type: ['string', 'null'], default: null, description: 'Also write to this file.' },
      },
    },
  },
};
