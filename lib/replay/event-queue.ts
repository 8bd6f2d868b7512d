/**
 * Events of the replay in time order: a binary min-heap by (at, rank, seq). At one instant
 * ends come before limits, answers and dials (CDR times have whole seconds: a call ending
 * at 12:00:05 is not counted against one dialed at 12:00:05), and dials keep file order.
 *
 * The keys live in typed arrays beside the events, so sifting compares numbers laid out
 * side by side instead of loading fields of objects spread over the heap. Events that come
 * in order (dials, when the file is sorted by start) wait in a plain line beside the heap
 * (`append`): the next event is the earlier of the two heads, and most dials never enter
 * the heap at all (each trip through it was some twenty comparisons and moves).
 */
export interface QueuedEvent {
  at: number;
  rank: number;
  seq: number;
}

/** rank and seq as one number: ranks are 0-3 and seq stays below 2^45 (exact in a double). */
const RANK_UNIT = 2 ** 45;

const before = (a: QueuedEvent, b: QueuedEvent): boolean => a.at < b.at || (a.at === b.at && (a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq)));

export class EventQueue<E extends QueuedEvent> {
  private events: (E | undefined)[] = [];
  private ats = new Float64Array(1024);
  private ties = new Float64Array(1024);
  private n = 0;
  /** Events appended in order, from `head` on. */
  private line: (E | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.n + this.line.length - this.head;
  }

  peek(): E | undefined {
    const fromLine = this.head < this.line.length ? this.line[this.head] : undefined;
    const fromHeap = this.n > 0 ? this.events[0] : undefined;
    if (fromLine === undefined) return fromHeap;
    return fromHeap === undefined || before(fromLine, fromHeap) ? fromLine : fromHeap;
  }

  pop(): E | undefined {
    const e = this.peek();
    if (e !== undefined && this.head < this.line.length && e === this.line[this.head]) {
      this.line[this.head++] = undefined;
      if (this.head === this.line.length) {
        this.line = [];
        this.head = 0;
      } else if (this.head >= 4096 && this.head * 2 >= this.line.length) {
        this.line = this.line.slice(this.head);
        this.head = 0;
      }
      return e;
    }
    return this.popHeap();
  }

  /** An event likely after every event appended before it: kept in line when it is, else pushed. */
  append(e: E): void {
    const last = this.line.length > this.head ? this.line[this.line.length - 1] : undefined;
    if (last === undefined || before(last, e)) this.line.push(e);
    else this.push(e);
  }

  push(e: E): void {
    if (this.n === this.ats.length) this.grow();
    const at = e.at;
    const tie = e.rank * RANK_UNIT + e.seq;
    const { ats, ties, events } = this;
    let i = this.n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pa = ats[parent]!;
      if (!(at < pa || (at === pa && tie < ties[parent]!))) break;
      ats[i] = pa;
      ties[i] = ties[parent]!;
      events[i] = events[parent];
      i = parent;
    }
    ats[i] = at;
    ties[i] = tie;
    events[i] = e;
  }

  private popHeap(): E | undefined {
    if (this.n === 0) return undefined;
    const { ats, ties, events } = this;
    const top = events[0];
    const last = --this.n;
    const at = ats[last]!;
    const tie = ties[last]!;
    const e = events[last];
    events[last] = undefined;
    if (last === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const child = r < last && (ats[r]! < ats[l]! || (ats[r] === ats[l] && ties[r]! < ties[l]!)) ? r : l;
      const ca = ats[child]!;
      if (!(ca < at || (ca === at && ties[child]! < tie))) break;
      ats[i] = ca;
      ties[i] = ties[child]!;
      events[i] = events[child];
      i = child;
    }
    ats[i] = at;
    ties[i] = tie;
    events[i] = e;
    return top;
  }

  private grow(): void {
    const ats = new Float64Array(this.ats.length * 2);
    ats.set(this.ats);
    const ties = new Float64Array(this.ties.length * 2);
    ties.set(this.ties);
    this.ats = ats;
    this.ties = ties;
  }
}
