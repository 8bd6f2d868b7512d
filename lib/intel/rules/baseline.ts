import type { NumberInfo } from '../../numbers/number-info.js';
import { describeDestination } from '../../policy/evaluate.js';
import type { BaselineView } from '../baseline.js';
import type { BaselineConfig } from '../config.js';
import { finding, type IntelCode, type IntelFinding } from '../facts.js';
import { clockText, hoursText, weekdayName, weekdaysText, type LocalTime } from '../local-time.js';

/** The key a destination's country is learnt under: its country, else its calling code (+882...). */
export function countryKey(n: NumberInfo): string | null {
  if (n.country !== null) return n.country;
  if (n.e164 === null) return null;
  return n.e164.slice(0, 4);
}

/**
 * A call that breaks the account's learned behaviour by the configured margins: first call to
 * a country (or number type) in the window, international outside the usual hours or days,
 * calls this hour above k × the usual busiest hour, spend today above k × the usual day. One
 * finding names every margin broken; before the window is full it only reports.
 */
export function baselineFinding(
  c: BaselineConfig, account: string, n: NumberInfo, view: BaselineView | null, t: LocalTime, currency: string,
): IntelFinding | null {
  if (!c.enabled || view === null) return null;
  const broken: { code: IntelCode; text: string; key: string }[] = [];
  const days = view.windowDays;
  const country = n.international ? countryKey(n) : null;
  if (c.newCountry && country !== null && view.countries[country] === undefined) {
    broken.push({ code: 'BASELINE_NEW_COUNTRY', key: 'newCountry', text: `${account} never called ${country} in ${days} days` });
  }
  if (c.newNumberType && view.types[n.type] === undefined) {
    broken.push({ code: 'BASELINE_NEW_TYPE', key: 'newNumberType', text: `${account} never called a ${n.type} number in ${days} days` });
  }
  if (c.outsideHours && n.international && view.activeDays > 0) {
    if (!(view.usualHours & (1 << t.hour))) {
      broken.push({ code: 'BASELINE_HOURS', key: 'outsideHours', text: `${clockText(t)} is outside its usual ${hoursText(view.usualHours)}` });
    } else if (!(view.usualWeekdays & (1 << t.weekday))) {
      broken.push({ code: 'BASELINE_HOURS', key: 'outsideHours', text: `${weekdayName(t.weekday)} is not one of its usual days (${weekdaysText(view.usualWeekdays)})` });
    }
  }
  if (c.velocity > 0 && view.activeDays > 0) {
    const usual = Math.max(view.usualPeakHour, c.minCallsPerHour);
    const calls = view.callsThisHour + 1;
    if (calls > c.velocity * usual) {
      broken.push({ code: 'BASELINE_VELOCITY', key: 'velocity', text: `${calls} calls this hour, above ${c.velocity} × its usual ${usual}` });
    }
  }
  if (c.spend > 0 && view.activeDays > 0) {
    const usual = Math.max(view.usualDaySpend, c.minSpendPerDay);
    if (view.spendToday > c.spend * usual) {
      broken.push({ code: 'BASELINE_SPEND', key: 'spend', text: `${round(view.spendToday)} ${currency} spent today, above ${c.spend} × its usual ${round(usual)}` });
    }
  }
  const first = broken[0];
  if (!first) return null;
  const learning = view.learnedDays < days;
  const tail = learning ? ` (still learning: ${view.learnedDays} of ${days} days; reported only)` : '';
  return finding(
    first.code, `intel.baseline.${broken.map((b) => b.key).join('+')}`,
    `${broken.map((b) => b.text).join('; ')}; calling ${describeDestination(n)}${tail}`, c, { learning },
  );
}

const round = (v: number): number => Math.round(v * 100) / 100;
