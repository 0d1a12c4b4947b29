/** RFC 3261 §17 timer values in milliseconds (table 4), for unreliable transports. */
export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;

export const TIMER = {
  /** INVITE client: first retransmission, doubling. */
  A: T1,
  /** INVITE client: transaction timeout. */
  B: 64 * T1,
  /** Proxy INVITE: no final answer this long after the last provisional (§16.6 step 11, > 3 min). */
  C: 180_000,
  /** INVITE client: absorb retransmitted finals (>= 32 s on UDP). */
  D: 32_000,
  /** Non-INVITE client: first retransmission, doubling up to T2. */
  E: T1,
  /** Non-INVITE client: transaction timeout. */
  F: 64 * T1,
  /** INVITE server: retransmit the final non-2xx answer, doubling up to T2. */
  G: T1,
  /** INVITE server: give up waiting for the ACK. */
  H: 64 * T1,
  /** INVITE server: absorb ACK retransmissions after Confirmed. */
  I: T4,
  /** Non-INVITE server: absorb request retransmissions after the final answer. */
  J: 64 * T1,
  /** Non-INVITE client: absorb response retransmissions. */
  K: T4,
  /**
   * RFC 6026 §7.1 Accepted state, kept 5 s instead of 64*T1 (as Kamailio's wait timer does): a 2xx
   * retransmitted later is still forwarded without a transaction (core.ts), and a caller that had
   * our 100 Trying no longer retransmits its INVITE, so the long wait only held memory.
   */
  L: 5000,
  M: 5000,
} as const;
