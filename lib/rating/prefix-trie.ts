/**
 * Longest-prefix match over decimal digits. Nodes live in one Int32Array, ten child slots
 * per node (0 = no child: the root is never anyone's child), so a lookup is one array read
 * per digit, with no allocation and no hashing. 100,000 rate prefixes make a few hundred
 * thousand nodes: a few MB.
 */
export class PrefixTrie<T> {
  private children = new Int32Array(10 * 1024);
  private slots = new Int32Array(1024).fill(-1);
  private nodes = 1;
  private readonly values: T[] = [];

  get size(): number {
    return this.values.length;
  }

  /** Stores `value` under `digits` (digits only). Returns the value already there, if any, unchanged. */
  insert(digits: string, value: T): T | undefined {
    let node = 0;
    for (let i = 0; i < digits.length; i++) {
      const slot = node * 10 + (digits.charCodeAt(i) - 48);
      let child = this.children[slot] ?? 0;
      if (child === 0) {
        child = this.newNode();
        this.children[slot] = child;
      }
      node = child;
    }
    const existing = this.slots[node] ?? -1;
    if (existing >= 0) return this.values[existing];
    this.slots[node] = this.values.length;
    this.values.push(value);
    return undefined;
  }

  /**
   * The value of the longest stored prefix of `number`. A leading `+` is skipped; the walk
   * stops at the first character that is not a digit.
   */
  longestPrefix(number: string): T | null {
    const children = this.children;
    const slots = this.slots;
    let node = 0;
    let best = -1;
    for (let i = number.charCodeAt(0) === 43 ? 1 : 0; i < number.length; i++) {
      const d = number.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      node = children[node * 10 + d] ?? 0;
      if (node === 0) break;
      const v = slots[node] ?? -1;
      if (v >= 0) best = v;
    }
    return best >= 0 ? (this.values[best] ?? null) : null;
  }

  /** Gives back the room kept for growth (up to half the arrays) once everything is inserted. */
  compact(): void {
    this.children = this.children.slice(0, this.nodes * 10);
    this.slots = this.slots.slice(0, this.nodes);
  }

  private newNode(): number {
    const id = this.nodes++;
    if (id >= this.slots.length) {
      const slots = new Int32Array(this.slots.length * 2).fill(-1);
      slots.set(this.slots);
      this.slots = slots;
      const children = new Int32Array(this.children.length * 2);
      children.set(this.children);
      this.children = children;
    }
    return id;
  }
}
