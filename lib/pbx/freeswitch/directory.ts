import type { TrunkSet } from '../trunks.js';

/**
 * The directory users and sofia gateways the switch has (listed at every connect). A leg is
 * internal only when it rings a directory user (`user/...`, `dialed_user`) the switch knows;
 * anything else leaves the switch.
 */
export class FsDirectory {
  private users: ReadonlySet<string> | null = null;
  private gateways: ReadonlySet<string> | null = null;

  constructor(private readonly trunks: TrunkSet) {}

  set(users: readonly string[] | null, gateways: readonly string[] | null): void {
    this.users = users === null ? null : new Set(users);
    this.gateways = gateways === null ? null : new Set(gateways);
  }

  get usersKnown(): boolean {
    return this.users !== null;
  }

  isLocalUser(user: string | null): boolean {
    return user !== null && this.users !== null && this.users.has(user);
  }

  /** Configured trunks the switch has no gateway for. */
  missingTrunks(): string[] {
    if (this.gateways === null) return [];
    return this.trunks.entries.map((t) => t.name).filter((n) => !this.gateways!.has(n));
  }

  gatewayList(): string[] {
    return [...(this.gateways ?? [])];
  }
}

/** `list_users` output: `userid|context|domain|group|contact|callgroup|effective_caller_id_name|effective_caller_id_number`. */
export function parseListUsers(body: string): string[] {
  const out = new Set<string>();
  for (const line of body.split('\n')) {
    const f = line.split('|');
    if (f.length < 2 || f[0] === 'userid' || f[0]!.trim() === '' || line.startsWith('+OK')) continue;
    out.add(f[0]!.trim());
  }
  return [...out];
}

/** `sofia status gateway` table: `<profile>::<name>  <data>  <state> ...` rows. */
export function parseGateways(body: string): string[] {
  const out = new Set<string>();
  for (const line of body.split('\n')) {
    const m = /^\s*([^\s:]+)::([^\s]+)\s/.exec(line);
    if (m && m[1] !== 'Profile') out.add(m[2]!);
  }
  return [...out];
}
