/**
 * Polls `fn` until it gives a truthy value and returns it; throws `timed out waiting for
 * <what>` after `ms`. The one wait of the integration tests (the servers they talk to are
 * real and asynchronous).
 */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, ms = 5000, everyMs = 10): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
