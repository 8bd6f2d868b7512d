/** One row of the rate deck: what a call to numbers under `prefix` costs. */
export interface Rate {
  /** Digits without `+`; empty for the configured default rate. */
  prefix: string;
  /** Currency units per minute. */
  perMinute: number;
  /** Charged once, when the call is answered. */
  connectFee: number;
  /** Seconds billed for the first period (the minimum for any answered call). */
  firstIncrement: number;
  /** Seconds of each following period. */
  nextIncrement: number;
  description: string | null;
}
