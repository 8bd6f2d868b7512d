import { systemClock } from '../lib/clock.js';
import type { Config } from '../lib/config/types.js';
import type { Logger } from '../lib/notify/logger.js';
import { createAdapter } from './daemon.js';

export interface ProbeResult {
  pbx: string;
  reached: boolean;
  error: string | null;
  /** What the PBX's setup lacks against the config (the adapter's connect checks). */
  warnings: string[];
}

/** How long a PBX may take to log in and list its endpoints before it counts as unreached. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * `check-config --probe`: each PBX of the config is connected the way the daemon connects
 * (login, endpoint / gateway listing, channel resync), asked nothing else, and left.
 */
export async function probePbxs(config: Config, log: Logger): Promise<ProbeResult[]> {
  return Promise.all(config.pbx.map(async (p): Promise<ProbeResult> => {
    const adapter = createAdapter(p, config, systemClock, log);
    let lastDetail: string | null = null;
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
      adapter.onStatus((s, _prev, detail) => {
        if (detail) lastDetail = detail;
        if (s === 'ready') {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    adapter.start();
    const reached = await ready;
    const result: ProbeResult = {
      pbx: p.name, reached, warnings: reached ? adapter.warnings() : [],
      error: reached ? null : (adapter.lastError()?.message ?? lastDetail ?? `no answer within ${PROBE_TIMEOUT_MS / 1000} s`),
    };
    await adapter.stop();
    return result;
  }));
}
