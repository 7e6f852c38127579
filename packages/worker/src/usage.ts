// API key usage on the Worker (SPEC §7.2 lastUsedAt, §15 POST
// /internal/v1/apikeys/usage; decision 0038): the Bridge's usage reporter
// without its background loop, which a Worker cannot run. A call records
// its key's time in a bounded map; a call that finds the interval passed
// since the last report hands a report to ctx.waitUntil, so the Hub hears
// about a key at most once an interval from each isolate and never on the
// response's path. A failed report is merged into the next one; the Hub
// moves lastUsedAt forward only, so late or repeated reports are harmless.
// Uses recorded by an isolate that is then evicted before its next call
// are lost: lastUsedAt is "about when", as on the Bridge.

/** maxBatch is hubapi.MaxAPIKeyUsageBatch: the Hub refuses larger batches. */
export const maxBatch = 5000;
/** maxKeys bounds the keys held between reports, as the Bridge's DefaultMaxKeys. */
export const maxKeys = 100_000;

export type Send = (batch: { keyId: string; lastUsedAt: string }[]) => Promise<void>;

export class UsageReporter {
  private pending = new Map<string, number>();
  private lastReport = -Infinity;
  private sending = false;

  constructor(
    private readonly send: Send,
    private readonly intervalMs: number,
    private readonly max = maxKeys,
  ) {}

  /** used records that keyId authenticated a call at now (ms). */
  used(keyId: string, now: number): void {
    const prev = this.pending.get(keyId);
    if (prev !== undefined ? now > prev : this.pending.size < this.max) this.pending.set(keyId, now);
  }

  /** report returns the report due at now, or null: nothing pending, one in flight, or too soon. */
  report(now: number): Promise<void> | null {
    if (this.sending || this.pending.size === 0 || now - this.lastReport < this.intervalMs) return null;
    const taken = this.pending;
    this.pending = new Map();
    this.lastReport = now;
    this.sending = true;
    return this.deliver(taken).finally(() => {
      this.sending = false;
    });
  }

  private async deliver(taken: Map<string, number>): Promise<void> {
    const all = [...taken];
    for (let i = 0; i < all.length; i += maxBatch) {
      const part = all.slice(i, i + maxBatch);
      try {
        await this.send(part.map(([keyId, at]) => ({ keyId, lastUsedAt: new Date(at).toISOString() })));
      } catch (e) {
        console.warn("API key usage: the Hub did not take the report; it is kept for the next one:", (e as Error).message);
        for (const [id, at] of part) this.used(id, at);
      }
    }
  }
}
