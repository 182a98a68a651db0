/**
 * Waiting in tests for what the system does in its own time, without sleeping blindly: `fn`
 * is asked every `everyMs` until it answers something truthy, which is answered; past `ms` the
 * test fails naming what it waited for. A deadline against hanging, never a speed assertion.
 */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
