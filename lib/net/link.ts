import type { LinkStatus } from '../pbx/events.js';
import type { ReadStats } from './connection.js';
import type { LinkError } from './link-error.js';
import type { SocketTables } from './unread.js';

export type StatusListener = (s: LinkStatus, previous: LinkStatus, detail?: string) => void;

/** A PBX link's life-cycle: what ManagedConnection has, and every layer above it passes on. */
export interface LinkControl {
  /** Connects and keeps connecting (with back-off) until stop(). */
  start(): void;
  stop(): Promise<void>;
  status(): LinkStatus;
  /** Since when the link has been in its current status (ms epoch). */
  statusSince(): number;
  /**
   * Since when the link has not been ready (ms epoch), however many reconnect attempts
   * followed; null while it is ready. What health and `status` judge a link down by.
   */
  downSince(): number | null;
  /** What ended the last socket, classified; null if none has failed yet. */
  lastError(): LinkError | null;
  onStatus(fn: StatusListener): void;
  /** Unread bytes (in the kernel's `tables`) and the longest read gap since the previous call (metrics). */
  readStats(tables: SocketTables): ReadStats;
}

/**
 * A layer over a link (a client over its connection, an adapter over its client) whose
 * life-cycle is the link's, unchanged: written once here instead of forwarded in each layer.
 */
export abstract class LinkLayer implements LinkControl {
  /** The layer below. */
  protected abstract get inner(): LinkControl;

  start(): void {
    this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  status(): LinkStatus {
    return this.inner.status();
  }

  statusSince(): number {
    return this.inner.statusSince();
  }

  downSince(): number | null {
    return this.inner.downSince();
  }

  lastError(): LinkError | null {
    return this.inner.lastError();
  }

  onStatus(fn: StatusListener): void {
    this.inner.onStatus(fn);
  }

  readStats(tables: SocketTables): ReadStats {
    return this.inner.readStats(tables);
  }
}
