import type { TrunkSet } from '../trunks.js';

/** One PJSIP endpoint as PJSIPShowEndpoints lists it. */
export interface EndpointInfo {
  name: string;
  /** Its inbound authentications (`Auths`): a phone registers and calls with credentials. */
  auths: string;
}

/**
 * The PJSIP endpoints the PBX has (PJSIPShowEndpoints at every connect). A dial is internal
 * only when it rings a phone: an endpoint that authenticates its callers (`Auths`) and is not
 * a configured trunk. A dial to anything else (a trunk, listed or misspelt, an endpoint
 * identified by address only, an unknown name, another technology) is taken as leaving the PBX.
 */
export class LocalPhones {
  private endpoints: ReadonlySet<string> | null = null;
  private phones: ReadonlySet<string> = new Set();

  constructor(private readonly trunks: TrunkSet) {}

  /** What the PBX listed; null when it could not be listed (every dial is then external). */
  set(list: readonly (EndpointInfo | string)[] | null): void {
    if (list === null) {
      this.endpoints = null;
      this.phones = new Set();
      return;
    }
    const infos = list.map((e) => (typeof e === 'string' ? { name: e, auths: e.startsWith('trunk') ? '' : `${e}-auth` } : e));
    this.endpoints = new Set(infos.map((e) => e.name));
    this.phones = new Set(infos.filter((e) => e.auths.trim() !== '' && !this.trunks.has('PJSIP', e.name)).map((e) => e.name));
  }

  /** Endpoints without inbound authentication that are not configured trunks: judged as trunks. */
  unlistedTrunkLike(): string[] {
    return [...(this.endpoints ?? [])].filter((n) => !this.phones.has(n) && !this.trunks.has('PJSIP', n));
  }

  get known(): boolean {
    return this.endpoints !== null;
  }

  isLocalPhone(tech: string | null, endpoint: string | null): boolean {
    if (this.endpoints === null || tech === null || endpoint === null || tech.toLowerCase() !== 'pjsip') return false;
    return this.phones.has(endpoint);
  }

  /** Configured trunks this PBX has no PJSIP endpoint for (a typo, or another technology). */
  missingTrunks(): string[] {
    if (this.endpoints === null) return [];
    const out: string[] = [];
    for (const t of this.trunks.entries) {
      const slash = t.name.indexOf('/');
      const tech = slash > 0 ? t.name.slice(0, slash).toLowerCase() : 'pjsip';
      const name = slash > 0 ? t.name.slice(slash + 1) : t.name;
      if (tech === 'pjsip' && !this.endpoints.has(name)) out.push(t.name);
    }
    return out;
  }

  list(): string[] {
    return [...(this.endpoints ?? [])];
  }
}
