/**
 * The `builtin` SRTP backend: RFC 3711's default transforms in TypeScript, AES from node:crypto
 * (rtp/srtp/aes_cm.ts) and HMAC-SHA1 in TypeScript (rtp/srtp/hmac_sha1.ts). Needs no permission
 * and no library. Per packet it allocates only what node:crypto's cipher returns.
 *
 * @module
 */

import { AesCm } from "./aes_cm.ts";
import {
  DEFAULT_MAX_SSRCS,
  SRTP_BACKEND,
  SRTP_DIRECTION,
  SRTP_ERROR,
  type SrtpContext,
  type SrtpContextOptions,
  type SrtpDirection,
} from "./context.ts";
import { HmacSha1 } from "./hmac_sha1.ts";
import { deriveSessionKeys } from "./key_derivation.ts";
import { isRtcp, putWord, RTCP_HEADER, rtpHeaderLength, word } from "./_packet.ts";
import { accept, estimateIndex, isFresh, SsrcTable } from "./_ssrc_table.ts";
import {
  type MasterKey,
  SRTCP_INDEX_LENGTH,
  SRTCP_TAG_LENGTH,
  type SrtpSuite,
  srtpTagLength,
} from "./suite.ts";

/** RFC 3711 §3.4: the SRTCP index is 31 bits; the key must change before it wraps. */
const MAX_SRTCP_INDEX = 0x7fffffff;
/** The E flag of the SRTCP index word: the payload is encrypted. */
const E_FLAG = 0x80000000;

/** A crypto context over node:crypto and TypeScript (see rtp/srtp/context.ts). */
export class BuiltinSrtpContext implements SrtpContext {
  readonly backend = SRTP_BACKEND.builtin;
  readonly suite: SrtpSuite;
  readonly direction: SrtpDirection;
  readonly rtpOverhead: number;
  readonly rtcpOverhead = SRTCP_INDEX_LENGTH + SRTCP_TAG_LENGTH;
  readonly #rtpCipher: AesCm;
  readonly #rtpAuth: HmacSha1;
  readonly #rtcpCipher: AesCm;
  readonly #rtcpAuth: HmacSha1;
  readonly #rtp: SsrcTable;
  readonly #rtcp: SsrcTable;
  #closed = false;

  constructor(master: MasterKey, options: SrtpContextOptions) {
    this.suite = options.suite;
    this.direction = options.direction;
    this.rtpOverhead = srtpTagLength(options.suite);
    const keys = deriveSessionKeys(master);
    this.#rtpCipher = new AesCm(keys.srtp.cipherKey, keys.srtp.salt);
    this.#rtpAuth = new HmacSha1(keys.srtp.authKey);
    this.#rtcpCipher = new AesCm(keys.srtcp.cipherKey, keys.srtcp.salt);
    this.#rtcpAuth = new HmacSha1(keys.srtcp.authKey);
    const max = options.maxSsrcs ?? DEFAULT_MAX_SSRCS;
    this.#rtp = new SsrcTable(max);
    this.#rtcp = new SsrcTable(max);
  }

  /** RFC 3711 §3.3: encrypt the payload, then authenticate header, payload and ROC. */
  protectRtp(buf: Uint8Array, len: number): number {
    const refused = this.#refuse(SRTP_DIRECTION.outbound);
    if (refused !== 0) return refused;
    const header = rtpHeaderLength(buf, len);
    if (header < 0) return SRTP_ERROR.malformed;
    const tag = this.rtpOverhead;
    if (buf.length < len + tag) return SRTP_ERROR.noRoom;
    const ssrc = word(buf, 8);
    const seq = (buf[2]! << 8) | buf[3]!;
    const known = this.#rtp.get(ssrc);
    const index = known === undefined ? seq : estimateIndex(known.top, seq);
    // A second packet with the same index would reuse its keystream (§9.1): refuse it, as
    // libsrtp does unless allow_repeat_tx is set.
    if (known !== undefined && !isFresh(known, index)) return SRTP_ERROR.replay;
    accept(known ?? this.#rtp.add(ssrc), index);
    this.#rtpCipher.xor(buf, header, len, ssrc, index);
    this.#rtpAuth.compute(buf, len, Math.floor(index / 0x10000));
    this.#rtpAuth.write(buf, len, tag);
    return len + tag;
  }

  /** RFC 3711 §3.3: estimate the index, check replay, authenticate, then decrypt. */
  unprotectRtp(buf: Uint8Array, len: number): number {
    const refused = this.#refuse(SRTP_DIRECTION.inbound);
    if (refused !== 0) return refused;
    const end = len - this.rtpOverhead;
    const header = rtpHeaderLength(buf, end);
    if (header < 0 || len > buf.length) return SRTP_ERROR.malformed;
    const ssrc = word(buf, 8);
    const seq = (buf[2]! << 8) | buf[3]!;
    const known = this.#rtp.get(ssrc);
    const index = known === undefined ? seq : estimateIndex(known.top, seq);
    if (known !== undefined && !isFresh(known, index)) return SRTP_ERROR.replay;
    this.#rtpAuth.compute(buf, end, Math.floor(index / 0x10000));
    if (!this.#rtpAuth.matches(buf, end, this.rtpOverhead)) return SRTP_ERROR.auth;
    this.#rtpCipher.xor(buf, header, end, ssrc, index);
    // Only an authenticated packet creates state (a stranger cannot fill the table).
    accept(known ?? this.#rtp.add(ssrc), index);
    return end;
  }

  /** RFC 3711 §3.4: encrypt after the first 8 bytes, append E and the index, then the tag. */
  protectRtcp(buf: Uint8Array, len: number): number {
    const refused = this.#refuse(SRTP_DIRECTION.outbound);
    if (refused !== 0) return refused;
    if (!isRtcp(buf, len)) return SRTP_ERROR.malformed;
    if (buf.length < len + this.rtcpOverhead) return SRTP_ERROR.noRoom;
    const ssrc = word(buf, 4);
    const state = this.#rtcp.get(ssrc) ?? this.#rtcp.add(ssrc);
    // §3.4: the index starts at 0 and counts every SRTCP packet sent for this SSRC.
    const index = state.top + 1;
    if (index > MAX_SRTCP_INDEX) return SRTP_ERROR.failed;
    accept(state, index);
    this.#rtcpCipher.xor(buf, RTCP_HEADER, len, ssrc, index);
    putWord(buf, len, (E_FLAG | index) >>> 0);
    const signed = len + SRTCP_INDEX_LENGTH;
    this.#rtcpAuth.compute(buf, signed);
    this.#rtcpAuth.write(buf, signed, SRTCP_TAG_LENGTH);
    return signed + SRTCP_TAG_LENGTH;
  }

  /** RFC 3711 §3.4: replay check on the carried index, authenticate, decrypt when E is set. */
  unprotectRtcp(buf: Uint8Array, len: number): number {
    const refused = this.#refuse(SRTP_DIRECTION.inbound);
    if (refused !== 0) return refused;
    const signed = len - SRTCP_TAG_LENGTH;
    const end = signed - SRTCP_INDEX_LENGTH;
    if (end < RTCP_HEADER || !isRtcp(buf, len)) return SRTP_ERROR.malformed;
    const ssrc = word(buf, 4);
    const flagged = word(buf, end);
    const index = flagged & MAX_SRTCP_INDEX;
    const known = this.#rtcp.get(ssrc);
    if (known !== undefined && !isFresh(known, index)) return SRTP_ERROR.replay;
    this.#rtcpAuth.compute(buf, signed);
    if (!this.#rtcpAuth.matches(buf, signed, SRTCP_TAG_LENGTH)) return SRTP_ERROR.auth;
    if (flagged >= E_FLAG) this.#rtcpCipher.xor(buf, RTCP_HEADER, end, ssrc, index);
    accept(known ?? this.#rtcp.add(ssrc), index);
    return end;
  }

  close(): void {
    this.#closed = true;
  }

  /** 0 when this context may run in `direction`, else the error to return. */
  #refuse(direction: SrtpDirection): number {
    if (this.#closed) return SRTP_ERROR.failed;
    return this.direction === direction ? 0 : SRTP_ERROR.direction;
  }
}
