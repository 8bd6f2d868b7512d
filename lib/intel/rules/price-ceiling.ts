import type { NumberInfo } from '../../numbers/number-info.js';
import { describeDestination } from '../../policy/evaluate.js';
import type { Rate } from '../../rating/rate.js';
import type { ActionConfig } from '../config.js';
import { finding, type IntelFinding } from '../facts.js';

/** `accounts.X.maxRatePerMinute`: an account that calls at 0.02/min has no business at 2.50/min. */
export function priceCeilingFinding(
  ceiling: number | null | undefined, accountKey: string, account: string, n: NumberInfo, rate: Rate | null | undefined,
  currency: string, a: ActionConfig,
): IntelFinding | null {
  if (ceiling === null || ceiling === undefined || !rate || rate.perMinute <= ceiling) return null;
  return finding(
    'RATE_CEILING', `${accountKey}.maxRatePerMinute=${ceiling}`,
    `${describeDestination(n)} costs ${rate.perMinute} ${currency}/min, above ${account}'s ceiling of ${ceiling} ${currency}/min`, a,
  );
}
