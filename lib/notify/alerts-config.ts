import cron from 'node-cron';
import type { AlertsConfig } from '../config/types.js';

/*
 * Apart from the Alerter so that the config loader does not load nodemailer: every command
 * that reads the config (check-config, explain, replay) starts faster.
 */

/** The facilities syslog knows; an alert channel with another one is not started. */
export const SYSLOG_FACILITIES: ReadonlySet<string> = new Set([
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
]);

/** Problems in the alerts section that start-up would otherwise only find late; each names its key. */
export function validateAlertsConfig(cfg: AlertsConfig): string[] {
  const errors: string[] = [];
  if (cfg.dailySummary !== null) {
    const v = cron.validateDetailed(cfg.dailySummary);
    if (!v.valid) errors.push(`alerts.dailySummary: "${cfg.dailySummary}" is not a cron expression (${v.errors.map((e) => e.message).join('; ')})`);
  }
  if (cfg.syslog && !SYSLOG_FACILITIES.has(cfg.syslog.facility)) {
    errors.push(`alerts.syslog.facility: "${cfg.syslog.facility}" is not one of ${[...SYSLOG_FACILITIES].join(', ')}`);
  }
  if (cfg.webhook) {
    try {
      const u = new URL(cfg.webhook.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') errors.push(`alerts.webhook.url: ${u.protocol} is not http: or https:`);
    } catch {
      errors.push(`alerts.webhook.url: "${cfg.webhook.url}" is not a URL`);
    }
  }
  return errors;
}

