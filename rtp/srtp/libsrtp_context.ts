/**
 * The `libsrtp` SRTP backend: libsrtp2 (Debian libsrtp2-1) through `Deno.dlopen`, one
 * `srtp_t` session per context with a wildcard-SSRC policy (`ssrc_any_inbound` to unprotect,
 * `ssrc_any_outbound` to protect), a 64-packet replay window like the builtin backend's, and
 * repeated sends refused (`allow_repeat_tx` 0). Needs `--allow-ffi`; symbols and layout are in
 * rtp/srtp/_libsrtp.ts.
 *
 * libsrtp adds a stream per new SSRC on its own; this context mirrors them in an `SsrcTable` and
 * removes the least recently used one from libsrtp past `maxSsrcs`, so memory stays bounded the
 * same way as in the builtin backend.
 *
 * @module
 */

import {
  DEFAULT_MAX_SSRCS,
  SRTP_BACKEND,
  SRTP_DIRECTION,
  SRTP_ERROR,
  type SrtpContext,
  type SrtpContextOptions,
  type SrtpDirection,
} from "./context.ts";
import {
  CRYPTO_POLICY_SIZE,
  type Libsrtp,
  MAX_TRAILER,
  openLibsrtp,
  POLICY,
  PROFILE,
  SSRC_TYPE,
  STATUS,
} from "./_libsrtp.ts";
import { isRtcp, rtpHeaderLength, word } from "./_packet.ts";
import { SsrcTable } from "./_ssrc_table.ts";
import {
  MASTER_KEY_LENGTH,
  MASTER_SALT_LENGTH,
  type MasterKey,
  SRTCP_INDEX_LENGTH,
  SRTCP_TAG_LENGTH,
  SRTP_SUITE,
  type SrtpSuite,
  srtpTagLength,
} from "./suite.ts";

type Transform = Libsrtp["srtp_protect"];

/** A crypto context backed by libsrtp2 (see rtp/srtp/context.ts). */
export class LibsrtpContext implements SrtpContext {
  readonly backend = SRTP_BACKEND.libsrtp;
  readonly suite: SrtpSuite;
  readonly direction: SrtpDirection;
  readonly rtpOverhead: number;
  readonly rtcpOverhead = SRTCP_INDEX_LENGTH + SRTCP_TAG_LENGTH;
  readonly #lib: Libsrtp;
  #session: Deno.PointerValue;
  /** The `int *len` argument, reused. */
  readonly #len = new Int32Array(1);
  /** For packets libsrtp cannot take where they are (misaligned, or too little room). */
  #scratch = new Uint8Array(0);
  readonly #ssrcs: SsrcTable;

  /** Throws when libsrtp cannot be loaded (the message says what is missing). */
  constructor(master: MasterKey, options: SrtpContextOptions) {
    const lib = openLibsrtp();
    this.#lib = lib;
    this.suite = options.suite;
    this.direction = options.direction;
    this.rtpOverhead = srtpTagLength(options.suite);
    const policy = new Uint8Array(POLICY.size);
    const view = new DataView(policy.buffer);
    const inbound = options.direction === SRTP_DIRECTION.inbound;
    view.setInt32(POLICY.ssrcType, inbound ? SSRC_TYPE.anyInbound : SSRC_TYPE.anyOutbound, true);
    const profile = options.suite === SRTP_SUITE.AES_CM_128_HMAC_SHA1_32
      ? PROFILE.aes128CmSha1_32
      : PROFILE.aes128CmSha1_80;
    // The profile setters fill both crypto policies, SRTCP's with the 80-bit tag.
    const rtp = policy.subarray(POLICY.rtp, POLICY.rtp + CRYPTO_POLICY_SIZE);
    const rtcp = policy.subarray(POLICY.rtcp, POLICY.rtcp + CRYPTO_POLICY_SIZE);
    if (
      lib.srtp_crypto_policy_set_from_profile_for_rtp(rtp, profile) !== STATUS.ok ||
      lib.srtp_crypto_policy_set_from_profile_for_rtcp(rtcp, profile) !== STATUS.ok
    ) {
      throw new Error(`Cannot create libsrtp session: profile "${options.suite}" is refused`);
    }
    const key = new Uint8Array(MASTER_KEY_LENGTH + MASTER_SALT_LENGTH);
    key.set(master.key);
    key.set(master.salt, MASTER_KEY_LENGTH);
    view.setBigUint64(
      POLICY.key,
      BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(key))),
      true,
    );
    view.setBigUint64(POLICY.windowSize, 64n, true);
    view.setInt32(POLICY.allowRepeatTx, 0, true);
    const out = new BigUint64Array(1);
    const status = lib.srtp_create(out, policy);
    key.fill(0); // libsrtp keeps its own copy of the derived keys
    if (status !== STATUS.ok) throw new Error(`Cannot create libsrtp session: status ${status}`);
    this.#session = Deno.UnsafePointer.create(out[0]!);
    this.#ssrcs = new SsrcTable(options.maxSsrcs ?? DEFAULT_MAX_SSRCS, (ssrc) => {
      if (this.#session !== null) this.#lib.srtp_remove_stream(this.#session, networkOrder(ssrc));
    });
  }

  protectRtp(buf: Uint8Array, len: number): number {
    if (this.#session === null) return SRTP_ERROR.failed;
    if (this.direction !== SRTP_DIRECTION.outbound) return SRTP_ERROR.direction;
    if (rtpHeaderLength(buf, len) < 0) return SRTP_ERROR.malformed;
    if (buf.length < len + this.rtpOverhead) return SRTP_ERROR.noRoom;
    this.#seen(word(buf, 8));
    return this.#run(this.#lib.srtp_protect, buf, len, true);
  }

  unprotectRtp(buf: Uint8Array, len: number): number {
    if (this.#session === null) return SRTP_ERROR.failed;
    if (this.direction !== SRTP_DIRECTION.inbound) return SRTP_ERROR.direction;
    if (rtpHeaderLength(buf, len - this.rtpOverhead) < 0 || len > buf.length) {
      return SRTP_ERROR.malformed;
    }
    const result = this.#run(this.#lib.srtp_unprotect, buf, len, false);
    if (result >= 0) this.#seen(word(buf, 8));
    return result;
  }

  protectRtcp(buf: Uint8Array, len: number): number {
    if (this.#session === null) return SRTP_ERROR.failed;
    if (this.direction !== SRTP_DIRECTION.outbound) return SRTP_ERROR.direction;
    if (!isRtcp(buf, len)) return SRTP_ERROR.malformed;
    if (buf.length < len + this.rtcpOverhead) return SRTP_ERROR.noRoom;
    this.#seen(word(buf, 4));
    return this.#run(this.#lib.srtp_protect_rtcp, buf, len, true);
  }

  unprotectRtcp(buf: Uint8Array, len: number): number {
    if (this.#session === null) return SRTP_ERROR.failed;
    if (this.direction !== SRTP_DIRECTION.inbound) return SRTP_ERROR.direction;
    if (!isRtcp(buf, len - this.rtcpOverhead)) return SRTP_ERROR.malformed;
    const result = this.#run(this.#lib.srtp_unprotect_rtcp, buf, len, false);
    if (result >= 0) this.#seen(word(buf, 4));
    return result;
  }

  close(): void {
    if (this.#session === null) return;
    this.#lib.srtp_dealloc(this.#session);
    this.#session = null;
  }

  /** Counts `ssrc` as used; a new one may push the least recently used out of libsrtp. */
  #seen(ssrc: number): void {
    if (this.#ssrcs.get(ssrc) === undefined) this.#ssrcs.add(ssrc);
  }

  /** Calls libsrtp on `buf` in place when it may write there, else through the scratch buffer. */
  #run(transform: Transform, buf: Uint8Array, len: number, protect: boolean): number {
    const box = this.#len;
    box[0] = len;
    let status: number;
    if ((buf.byteOffset & 3) === 0 && (!protect || buf.length >= len + MAX_TRAILER)) {
      status = transform(this.#session, buf, box);
    } else {
      if (this.#scratch.length < len + MAX_TRAILER) {
        this.#scratch = new Uint8Array(len + MAX_TRAILER);
      }
      const scratch = this.#scratch;
      scratch.set(buf.subarray(0, len));
      status = transform(this.#session, scratch, box);
      if (status === STATUS.ok) buf.set(scratch.subarray(0, box[0]!));
    }
    return status === STATUS.ok ? box[0]! : error(status);
  }
}

/** The SRTP_ERROR for a libsrtp status other than ok. */
function error(status: number): number {
  switch (status) {
    case STATUS.authFail:
      return SRTP_ERROR.auth;
    case STATUS.replayFail:
    case STATUS.replayOld:
      return SRTP_ERROR.replay;
    case STATUS.badParam:
    case STATUS.parseErr:
      return SRTP_ERROR.malformed;
    default:
      return SRTP_ERROR.failed;
  }
}

/** `srtp_remove_stream` takes the SSRC in network byte order (on a little-endian host). */
function networkOrder(ssrc: number): number {
  return (((ssrc & 0xff) << 24) | ((ssrc & 0xff00) << 8) | ((ssrc >>> 8) & 0xff00) |
    (ssrc >>> 24)) >>> 0;
}
