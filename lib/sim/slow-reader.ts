import type net from 'node:net';

/**
 * What a PBX does with a manager client that stops reading, so that tests and benches see a
 * slow reader dropped as the real server would drop it:
 *
 * - Asterisk (`writetimeout` in manager.conf, 100 ms unless set; the lab and the documented
 *   manager.conf use 5,000): the session thread's write waits at most that long for the
 *   socket to take more bytes, then the session is closed.
 * - FreeSWITCH (mod_event_socket): events wait in a per-listener queue of 100,000
 *   (MAX_QUEUE_LEN) while the socket is full; an event that finds the queue full is lost,
 *   and a listener that loses more than 500 in a row (MAX_MISSED) is killed.
 */
export type SlowReaderPolicy =
  | { kind: 'writetimeout'; ms: number }
  | { kind: 'event-queue'; maxQueued: number; maxLost: number };

export const FREESWITCH_EVENT_QUEUE: SlowReaderPolicy = { kind: 'event-queue', maxQueued: 100_000, maxLost: 500 };

export interface SlowReaderDrop {
  /** Date.now() when the client was dropped. */
  at: number;
  /** Connection number in the server. */
  connection: number;
  /** `writetimeout 100 ms` or `event queue full: 501 events lost`. */
  reason: string;
  /** Bytes the socket had not taken yet. */
  unsentBytes: number;
}

/**
 * One client socket under a policy. Nothing is wrapped per write: the bytes the socket has
 * taken are the bytes queued minus its writableLength, so progress and the frames still
 * queued are read off the stream's own counters.
 */
export class WatchedSocket {
  /** Units handed to socket.write: string length or Buffer bytes, as its writableLength counts them. */
  private queued = 0;
  /** End offset (in `queued` units) of every frame the socket has not taken yet, oldest first. */
  private frameEnds: number[] = [];
  private head = 0;
  private lastTaken = 0;
  private stalledSince = 0;
  private lost = 0;
  /** Events lost to a full queue, in all. */
  lostEvents = 0;
  /** Events handed to the socket (not lost), in all. */
  private events = 0;
  /** Units the socket never took: set when it closes. */
  private unsentAtClose: number | null = null;
  dropped = false;

  constructor(
    readonly socket: net.Socket,
    readonly connection: number,
    private readonly policy: SlowReaderPolicy | null,
    private readonly onDrop: (d: SlowReaderDrop) => void,
  ) {
    socket.once('close', () => {
      this.unsentAtClose ??= socket.writableLength;
    });
  }

  /** Units written, units a closed socket never took, units a live one has not taken yet. */
  totals(): OutputTotals {
    const closed = this.unsentAtClose;
    return { written: this.queued, lost: closed ?? 0, pending: closed === null ? this.unsent() : 0, events: this.events, lostEvents: this.lostEvents };
  }

  /**
   * Writes one frame; false when it was lost (an event finding the queue full) or the client
   * is gone. Replies to commands are never lost: FreeSWITCH writes them from the listener
   * thread, outside the event queue.
   */
  write(frame: string | Buffer, kind: 'event' | 'reply' = 'event'): boolean {
    if (this.dropped || this.socket.destroyed) return false;
    const p = this.policy;
    if (p?.kind === 'event-queue') {
      this.settle();
      if (kind === 'event' && this.frameEnds.length - this.head >= p.maxQueued) {
        this.lostEvents++;
        if (++this.lost > p.maxLost) this.drop(`event queue full (${p.maxQueued}): ${this.lost} events lost`);
        return false;
      }
      if (kind === 'event') this.lost = 0;
      this.queued += frame.length;
      this.frameEnds.push(this.queued);
    } else {
      if (this.unsent() === 0) this.stalledSince = Date.now();
      this.queued += frame.length;
    }
    if (kind === 'event') this.events++;
    this.socket.write(frame);
    return true;
  }

  /** Frames written but not yet taken by the socket (the listener's queue in FreeSWITCH). */
  queuedFrames(): number {
    this.settle();
    return this.frameEnds.length - this.head;
  }

  unsent(): number {
    return this.socket.writableLength;
  }

  /**
   * Called on the server's tick: drops the client when the socket has taken nothing for the
   * write timeout. `selfLateMs` is how late the tick itself ran: a server busy on its own
   * must not blame the client for it (Asterisk's session threads would not have stalled).
   */
  tick(now: number, selfLateMs: number): void {
    const p = this.policy;
    if (p?.kind !== 'writetimeout' || this.dropped) return;
    const taken = this.queued - this.unsent();
    if (taken !== this.lastTaken || this.unsent() === 0 || selfLateMs > p.ms / 2) {
      this.lastTaken = taken;
      this.stalledSince = now;
      return;
    }
    if (now - this.stalledSince >= p.ms) this.drop(`writetimeout ${p.ms} ms`);
  }

  private settle(): void {
    const taken = this.queued - this.unsent();
    while (this.head < this.frameEnds.length && (this.frameEnds[this.head] ?? Infinity) <= taken) this.head++;
    if (this.head > 4096 && this.head * 2 > this.frameEnds.length) {
      this.frameEnds = this.frameEnds.slice(this.head);
      this.head = 0;
    }
  }

  private drop(reason: string): void {
    this.dropped = true;
    const unsentBytes = this.unsent();
    this.unsentAtClose = unsentBytes;
    this.socket.destroy();
    this.onDrop({ at: Date.now(), connection: this.connection, reason, unsentBytes });
  }
}

/** The tick a server runs while any policy is time based: ten checks per timeout, 5-100 ms apart. */
export function tickEvery(policy: SlowReaderPolicy | null): number | null {
  if (policy?.kind !== 'writetimeout') return null;
  return Math.min(100, Math.max(5, Math.floor(policy.ms / 10)));
}

export interface OutputTotals {
  /** Units handed to the sockets (string length, Buffer bytes). */
  written: number;
  /** Units closed sockets never took. */
  lost: number;
  /** Units live sockets have not taken yet. */
  pending: number;
  /** Frames written as events (the AMI sim's banner and replies too), lost ones not counted. */
  events: number;
  /** Events lost to a full event queue. */
  lostEvents: number;
}

/** What a server's clients were sent, summed over every connection it ever had. */
export function outputTotals(outs: readonly WatchedSocket[]): OutputTotals {
  const t: OutputTotals = { written: 0, lost: 0, pending: 0, events: 0, lostEvents: 0 };
  for (const o of outs) {
    const x = o.totals();
    t.written += x.written;
    t.lost += x.lost;
    t.pending += x.pending;
    t.events += x.events;
    t.lostEvents += x.lostEvents;
  }
  return t;
}
