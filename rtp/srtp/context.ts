/**
 * An SRTP crypto context for one direction of one master key (RFC 3711 §3.2): what the relay
 * calls per packet to turn SRTP into RTP and back. Three backends implement it:
 * - `builtin` (rtp/srtp/builtin_context.ts): TypeScript over node:crypto's AES; needs nothing;
 * - `libcrypto` (rtp/srtp/libcrypto_context.ts): the builtin backend's packet logic over
 *   OpenSSL's AES-CTR and SHA-1 through `Deno.dlopen`; needs `--allow-ffi` and libssl3;
 * - `libsrtp` (rtp/srtp/libsrtp_context.ts): libsrtp2 through `Deno.dlopen`; needs
 *   `--allow-ffi` and the Debian package libsrtp2-1.
 * rtp/srtp/open_context.ts picks one.
 *
 * A bridged call has two contexts on its SRTP side: `inbound`, keyed with the master key the
 * outside party sent in its `a=crypto`, unprotects what it sends; `outbound`, keyed with the one
 * we sent, protects what we send it. Each SSRC seen gets its own rollover counter, highest index
 * and 64-packet replay window, for SRTP and for SRTCP, up to `maxSsrcs` of them (least recently
 * used first out). An inbound context only keeps state for packets that authenticated, so a
 * stranger without the key cannot grow it.
 *
 * Everything works in place on the caller's buffer: protect appends the tag (and SRTCP's index),
 * so the buffer needs that much room past `len`; unprotect returns the shorter length.
 * Failures are negative return values (`SRTP_ERROR`), never throws.
 *
 * WebCrypto (`crypto.subtle`) is not a backend: every operation is a Promise (a
 * per-packet hop through the event loop) and returns a new buffer, where the relay needs a
 * synchronous in-place transform.
 *
 * @module
 */

import type { SrtpSuite } from "./suite.ts";

export const SRTP_BACKEND = {
  builtin: "builtin",
  libcrypto: "libcrypto",
  libsrtp: "libsrtp",
} as const;
export type SrtpBackendName = typeof SRTP_BACKEND[keyof typeof SRTP_BACKEND];

export const SRTP_DIRECTION = { inbound: "inbound", outbound: "outbound" } as const;
export type SrtpDirection = typeof SRTP_DIRECTION[keyof typeof SRTP_DIRECTION];

/** Why a packet was not transformed: every code means one thing. */
export const SRTP_ERROR = {
  /** Shorter than its header and trailer, or the header is not RTP/RTCP version 2. */
  malformed: -1,
  /** The authentication tag does not match: tampered with, or another key. */
  auth: -2,
  /** The index was seen already or is older than the replay window (RFC 3711 §3.3.2). */
  replay: -3,
  /** Protect: the buffer has no room for the trailer past `len`. */
  noRoom: -4,
  /** Protect on an inbound context, or unprotect on an outbound one. */
  direction: -5,
  /**
   * The context is closed, the key is used up (2^31 SRTCP packets of one SSRC), or libsrtp
   * failed in a way not listed above.
   */
  failed: -6,
} as const;
export type SrtpError = typeof SRTP_ERROR[keyof typeof SRTP_ERROR];

/** SSRCs a context keeps state for, by default (style: bounded by construction). */
export const DEFAULT_MAX_SSRCS = 16;

export interface SrtpContextOptions {
  readonly suite: SrtpSuite;
  readonly direction: SrtpDirection;
  /** Per-SSRC states kept; the least recently used goes first. Default `DEFAULT_MAX_SSRCS`. */
  readonly maxSsrcs?: number;
}

/** One direction of one master key. Single-threaded: call it from one thread only. */
export interface SrtpContext {
  readonly backend: SrtpBackendName;
  readonly suite: SrtpSuite;
  readonly direction: SrtpDirection;
  /** Bytes `protectRtp` appends: the SRTP tag, 10 or 4. */
  readonly rtpOverhead: number;
  /** Bytes `protectRtcp` appends: E flag and index (4) plus the 10-byte tag. */
  readonly rtcpOverhead: number;
  /** RTP in `buf[0, len)` to SRTP in place; the new length, or an `SRTP_ERROR`. */
  protectRtp(buf: Uint8Array, len: number): number;
  /** SRTP in `buf[0, len)` to RTP in place; the new length, or an `SRTP_ERROR`. */
  unprotectRtp(buf: Uint8Array, len: number): number;
  /** RTCP in `buf[0, len)` to SRTCP in place; the new length, or an `SRTP_ERROR`. */
  protectRtcp(buf: Uint8Array, len: number): number;
  /** SRTCP in `buf[0, len)` to RTCP in place; the new length, or an `SRTP_ERROR`. */
  unprotectRtcp(buf: Uint8Array, len: number): number;
  /** Frees what the context holds; later calls return `SRTP_ERROR.failed`. */
  close(): void;
}
