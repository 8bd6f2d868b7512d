import { fail, ok, type Result } from '../../result.js';

/** Index keys: `index:0`, `index:1`, ... in the flags' own realm. */
const INDEX_KEY = 'index:';
/** mod_db's `select` answers through a 256-byte buffer: a chunk must stay below it. */
const CHUNK_CHARS = 240;

type Api = (command: string) => Promise<Result<string>>;

/**
 * mod_db cannot list a realm: its `db` API has insert, delete and select only (mod_db.c,
 * db_api_function). So the adapter keeps the list of the keys it wrote in the realm itself,
 * space-separated (keys never contain whitespace) in chunks under `index:N`, written before a
 * key is inserted and after it is deleted: a crash in between leaves an indexed key that is
 * not there (harmless: listing skips it), never a key the index forgets. The index is read
 * again after every reconnect (the switch may have restarted or been changed meanwhile).
 * Keys written by hand are not in it, so tollguard never sees nor deletes them.
 */
export class FlagIndex {
  /** realm -> the chunks as stored, and their keys. */
  private readonly known = new Map<string, { keys: Set<string>; chunks: string[] }>();
  /** One operation per realm at a time: index updates must not interleave. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly api: Api) {}

  /** The link was lost: what the index says is read again before the next use. */
  forget(): void {
    this.known.clear();
  }

  /** Every indexed key that holds a value, with its value. */
  list(realm: string): Promise<Result<Map<string, string>>> {
    return this.serial(realm, async () => {
      const index = await this.load(realm);
      if (!index.ok) return index;
      const keys = [...index.value.keys];
      const values = await Promise.all(keys.map((k) => this.select(realm, k)));
      const out = new Map<string, string>();
      for (const [i, v] of values.entries()) {
        if (!v.ok) return v;
        if (v.value !== '') out.set(keys[i]!, v.value);
      }
      return ok(out);
    });
  }

  /** Inserts (value) or deletes (null) a key, keeping the index in step. */
  write(realm: string, key: string, value: string | null): Promise<Result<void>> {
    return this.serial(realm, async () => {
      const index = await this.load(realm);
      if (!index.ok) return index;
      const keys = index.value.keys;
      if (value !== null) {
        if (!keys.has(key)) {
          const saved = await this.save(realm, new Set([...keys, key]));
          if (!saved.ok) return saved;
        }
        return this.command(`db insert/${realm}/${key}/${value}`);
      }
      const deleted = await this.command(`db delete/${realm}/${key}`);
      if (!deleted.ok || !keys.has(key)) return deleted;
      return this.save(realm, new Set([...keys].filter((k) => k !== key)));
    });
  }

  private async load(realm: string): Promise<Result<{ keys: Set<string>; chunks: string[] }>> {
    const cached = this.known.get(realm);
    if (cached) return ok(cached);
    const chunks: string[] = [];
    for (;;) {
      const r = await this.select(realm, `${INDEX_KEY}${chunks.length}`);
      if (!r.ok) return r;
      if (r.value === '') break;
      chunks.push(r.value);
    }
    const loaded = { keys: new Set(chunks.flatMap((c) => c.split(' ')).filter((k) => k !== '')), chunks };
    this.known.set(realm, loaded);
    return ok(loaded);
  }

  /**
   * Rewrites the chunks that changed and deletes the ones no longer needed. Keys keep their
   * order, so a new key changes the last chunk only.
   */
  private async save(realm: string, keys: Set<string>): Promise<Result<void>> {
    const old = this.known.get(realm)?.chunks ?? [];
    const chunks: string[] = [];
    let current = '';
    for (const k of keys) {
      if (current !== '' && current.length + 1 + k.length > CHUNK_CHARS) {
        chunks.push(current);
        current = '';
      }
      current = current === '' ? k : `${current} ${k}`;
    }
    if (current !== '') chunks.push(current);
    for (const [i, c] of chunks.entries()) {
      if (old[i] === c) continue;
      const r = await this.command(`db insert/${realm}/${INDEX_KEY}${i}/${c}`);
      if (!r.ok) return this.lost(realm, r);
    }
    for (let i = chunks.length; i < old.length; i++) {
      const r = await this.command(`db delete/${realm}/${INDEX_KEY}${i}`);
      if (!r.ok) return this.lost(realm, r);
    }
    this.known.set(realm, { keys, chunks });
    return ok(undefined);
  }

  /** After a failed index write, what the switch holds is not known: read it again next time. */
  private lost(realm: string, r: Result<void>): Result<void> {
    this.known.delete(realm);
    return r;
  }

  /** '' for a key that is not there: mod_event_socket answers an empty result with `-ERR no reply`. */
  private async select(realm: string, key: string): Promise<Result<string>> {
    const r = await this.api(`db select/${realm}/${key}`);
    if (!r.ok) return r;
    const text = r.value.trim();
    if (text === '-ERR no reply') return ok('');
    return text === '!err!' || text.startsWith('-ERR') || text.startsWith('-USAGE') ? fail('TG_ERR_PBX_REJECTED', `db select: ${text}`) : ok(text);
  }

  private async command(cmd: string): Promise<Result<void>> {
    const r = await this.api(cmd);
    if (!r.ok) return r;
    const text = r.value.trim();
    return text.startsWith('+OK') ? ok(undefined) : fail('TG_ERR_PBX_REJECTED', `${cmd.split('/', 1)[0]}: ${text}`);
  }

  private serial<T>(realm: string, op: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(realm) ?? Promise.resolve()).then(op, op);
    const tail = run.catch(() => undefined);
    this.tails.set(realm, tail);
    void tail.then(() => {
      if (this.tails.get(realm) === tail) this.tails.delete(realm);
    });
    return run;
  }
}
