/**
 * `[limits]`: calls in progress, and new calls per second, at most (rtpengine's `--max-sessions`,
 * Kamailio's `pike` for calls). A new call past either is answered 503 with Retry-After by the
 * core, counted by reason. 0 is no limit.
 *
 * @module
 */
import type { LimitsConfig } from "../../config/config.ts";

export const CALL_REFUSAL = {
  limitCalls: "limit_calls",
  limitRate: "limit_rate",
  noPbx: "no_pbx",
} as const;
export type CallRefusal = typeof CALL_REFUSAL[keyof typeof CALL_REFUSAL];

export class CallLimits {
  limits: LimitsConfig;
  /** New calls admitted in the current one-second window, and when it began (clock ms). */
  #window = 0;
  #windowStart = -Infinity;

  constructor(limits: LimitsConfig) {
    this.limits = limits;
  }

  /** Whether a new call may start, with `active` calls up; an admitted call is counted. */
  admit(active: number, now: number): CallRefusal | undefined {
    const { calls, callsPerSecond } = this.limits;
    if (calls > 0 && active >= calls) return CALL_REFUSAL.limitCalls;
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#window = 0;
    }
    if (callsPerSecond > 0 && this.#window >= callsPerSecond) return CALL_REFUSAL.limitRate;
    this.#window++;
    return undefined;
  }
}
