import type { Clock, TimerHandle } from '../clock.js';
import type { Alert, AlertKind, AlertSeverity } from './alerts.js';

/** One of many things of a kind (a banned address) that a digest counts. */
export interface DigestItem {
  /** What it is about: an address. */
  subject: string;
  /** Its reason code. */
  code: string;
  /** The human reason; the alert's text when the digest holds this one item only. */
  text: string;
}

export interface DigestSpec {
  kind: AlertKind;
  key: string;
  severity: AlertSeverity;
  /** `Banned 3 source addresses`. */
  title: (count: number) => string;
}

/** A digest alert goes out at most this often (the first one of a quiet minute at once). */
export const DIGEST_EVERY_MS = 60_000;
/** Subjects named besides the first and the last. */
const SAMPLE = 10;

/**
 * Things that come in floods (one ban per attacking address) as one alert a minute: the
 * first items of a quiet minute go out at the end of the current event-loop turn (a whole
 * batch in one alert), later ones are summed, with counts per reason code, the first and the
 * last subject and a few more, and go out when the minute is over.
 */
export class AlertDigest {
  private count = 0;
  private byCode: Record<string, number> = {};
  private first: DigestItem | null = null;
  private last: DigestItem | null = null;
  private sample: string[] = [];
  private since = 0;
  private sentAt = -Infinity;
  private timer: TimerHandle | null = null;
  private immediate: NodeJS.Immediate | null = null;

  constructor(
    private readonly spec: DigestSpec,
    private readonly clock: Clock,
    private readonly send: (a: Alert) => void,
  ) {}

  add(items: readonly DigestItem[]): void {
    for (const item of items) {
      if (this.count === 0) {
        this.first = item;
        this.since = this.clock.now();
      } else if (this.sample.length < SAMPLE) {
        this.sample.push(item.subject);
      }
      this.count++;
      this.byCode[item.code] = (this.byCode[item.code] ?? 0) + 1;
      this.last = item;
    }
    if (this.count === 0 || this.timer || this.immediate) return;
    const wait = this.sentAt + DIGEST_EVERY_MS - this.clock.now();
    if (wait <= 0) this.immediate = setImmediate(() => this.flush());
    else this.timer = this.clock.schedule(wait, () => this.flush());
  }

  /** Sends what is held now (the minute is over, or the daemon stops). */
  flush(): void {
    this.timer?.cancel();
    this.timer = null;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    if (this.count === 0 || !this.first || !this.last) return;
    const codes = Object.entries(this.byCode).map(([c, n]) => `${c} ${n}`).join(', ');
    const text = this.count === 1
      ? this.first.text
      : `${this.count} since ${new Date(this.since).toISOString()} (${codes}); first ${this.first.subject}, last ${this.last.subject}` +
        `${this.sample.length > 0 ? `; also ${this.sample.join(', ')}` : ''}.`;
    const detail = { count: this.count, byCode: this.byCode, first: this.first.subject, last: this.last.subject, sample: this.sample, since: this.since };
    this.sentAt = this.clock.now();
    this.count = 0;
    this.byCode = {};
    this.sample = [];
    this.send({ kind: this.spec.kind, severity: this.spec.severity, key: this.spec.key, title: this.spec.title(detail.count), text, detail });
  }
}
