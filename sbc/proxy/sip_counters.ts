/**
 * What the proxy counts for the admin API and /metrics.
 *
 * @module
 */

import type { CallRefusal } from "./call_limits.ts";

/** Counters since start. */
export interface SipCounters {
  requests: number;
  responses: number;
  /** Malformed messages (answered 400 or dropped). */
  parseErrors: number;
  /** Requests the SBC answered >= 300 itself. */
  rejected: number;
  /** Client transactions that timed out. */
  timeouts: number;
  /** Routing scripts that threw. */
  routeErrors: number;
  /**
   * Messages dropped unparsed: from sources an interface's `allow`/`deny` refuse, or from an
   * address the other side owns (spoofed).
   */
  denied: number;
  /** Messages not sent: their destination is owned by the other side's networks. */
  boundary: number;
  /** In-dialog requests from outside that belong to no dialog the SBC set up. */
  noDialog: number;
  /** Messages dropped unparsed from an address banned for going past `sip.rate_limit`. */
  rateLimited: number;
  /** Bans made. */
  bans: number;
  /** New requests answered 503 because `sip.max_transactions` were alive. */
  overloaded: number;
  /** New calls answered 503: `[limits]` (calls, rate), or no PBX target up. */
  callsRefused: Record<CallRefusal, number>;
}

/** All counters at zero. */
export function newSipCounters(): SipCounters {
  return {
    requests: 0,
    responses: 0,
    parseErrors: 0,
    rejected: 0,
    timeouts: 0,
    routeErrors: 0,
    denied: 0,
    boundary: 0,
    noDialog: 0,
    rateLimited: 0,
    bans: 0,
    overloaded: 0,
    callsRefused: { limit_calls: 0, limit_rate: 0, no_pbx: 0 },
  };
}
