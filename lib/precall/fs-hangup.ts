/**
 * How the FreeSWITCH hook's call is ended by the switch itself at its limit, whatever becomes
 * of tollguard. FreeSWITCH's own timers (`sched_hangup`, `sched_api`) run whole epoch seconds,
 * polled at most 500 ms apart, so alone they would land up to 1.5 s off. The task runs
 * instead in a thread of its own (`&`) that first sleeps the milliseconds left (`expand`
 * runs `${msleep(N)}` while it builds uuid_kill's arguments) and then kills the channel.
 * `802${msleep(N)}` expands to `802+OK`, which uuid_kill reads as cause 802
 * (ALLOTTED_TIMEOUT) because the text starts with a digit.
 */

/** Limits up to this far away start their thread at once: the most precise, one sleeping thread each. */
const NEAR_MS = 30_000;
/** A task due at whole second W starts between W and W + 500 ms: its sleep aims at the middle. */
const POLL_MS = 500;

/** The api command that schedules the hangup of channel `uuid` `ms` after `now` (epoch ms). */
export function scheduledHangup(uuid: string, now: number, ms: number): string {
  const at = now + ms;
  let when: string;
  let sleep: number;
  const second = Math.floor((at - POLL_MS - POLL_MS / 2) / 1000);
  // An absolute time the switch may already have passed would be read as a delay (switch_scheduler).
  if (ms <= NEAR_MS || second < Math.floor(now / 1000) + 2) {
    when = '+0';
    sleep = ms;
  } else {
    when = String(second);
    sleep = at - second * 1000 - POLL_MS / 2;
  }
  return `sched_api ${when} tollguard-${uuid} expand uuid_kill ${uuid} 802\${msleep(${Math.max(0, Math.floor(sleep))})}&`;
}
