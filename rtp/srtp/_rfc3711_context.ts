/**
 * RFC 3711's packet processing, shared by the backends that bring their own AES-CM and
 * HMAC-SHA1 (`builtin`, `libcrypto`): index and ROC estimation, the replay window, the SSRC
 * table, the SRTCP index and key derivation. Internal to rtp/srtp/.
 *
 * A backend hands over two constructors, `cipher` (AES-CM, RFC 3711 §4.1.1) and `auth`
 * (HMAC-SHA1, §4.2.1); the context makes one of each per protocol (SRTP and SRTCP) from the
 * derived session keys, and closes them when it closes.
 *
 * @module
 */

import {
  DEFAULT_MAX_SSRCS,
  SRTP_DIRECTION,
  SRTP_ERROR,
  type SrtpBackendName,
  type SrtpContext,
  type SrtpContextOptions,
  type SrtpDirection,
} from "./context.ts";
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

/** AES-CM with one session key and salt; `xor` encrypts and decrypts alike. */
export interface SrtpCipher {
  /** XORs the keystream of packet `index` (48 bits) of `ssrc` into `buf[start, end)`. */
  xor(buf: Uint8Array, start: number, end: number, ssrc: number, index: number): void;
  /** Frees what it holds outside the JS heap, if anything. */
  close?(): void;
}

/** HMAC-SHA1 with one session key: `compute`, then `write` or `matches` the result. */
export interface SrtpAuth {
  /** MACs `data[0, len)`, then `trailer` as 4 big-endian bytes when it is 0 or more. */
  compute(data: Uint8Array, len: number, trailer?: number): void;
  /** Writes the first `n` bytes of the last MAC at `out[offset]`. */
  write(out: Uint8Array, offset: number, n: number): void;
  /** The first `n` bytes of the last MAC equal `data[offset, offset + n)`, in constant time. */
  matches(data: Uint8Array, offset: number, n: number): boolean;
  close?(): void;
}

/** What a backend plugs in: its name and its two primitives. */
export interface SrtpPrimitives {
  readonly backend: SrtpBackendName;
  /** `key`: 16 bytes (AES-128); `salt`: 14 bytes. */
  cipher(key: Uint8Array, salt: Uint8Array): SrtpCipher;
  /** `key`: 20 bytes. */
  auth(key: Uint8Array): SrtpAuth;
}

/** A crypto context over the primitives of one backend (see rtp/srtp/context.ts). */
export class Rfc3711Context implements SrtpContext {
  readonly backend: SrtpBackendName;
  readonly suite: SrtpSuite;
  readonly direction: SrtpDirection;
  readonly rtpOverhead: number;
  readonly rtcpOverhead = SRTCP_INDEX_LENGTH + SRTCP_TAG_LENGTH;
  readonly #rtpCipher: SrtpCipher;
  readonly #rtpAuth: SrtpAuth;
  readonly #rtcpCipher: SrtpCipher;
  readonly #rtcpAuth: SrtpAuth;
  readonly #rtp: SsrcTable;
  readonly #rtcp: SsrcTable;
  #closed = false;

  constructor(master: MasterKey, options: SrtpContextOptions, primitives: SrtpPrimitives) {
    this.backend = primitives.backend;
    this.suite = options.suite;
    this.direction = options.direction;
    this.rtpOverhead = srtpTagLength(options.suite);
    const keys = deriveSessionKeys(master);
    this.#rtpCipher = primitives.cipher(keys.srtp.cipherKey, keys.srtp.salt);
    this.#rtpAuth = primitives.auth(keys.srtp.authKey);
    this.#rtcpCipher = primitives.cipher(keys.srtcp.cipherKey, keys.srtcp.salt);
    this.#rtcpAuth = primitives.auth(keys.srtcp.authKey);
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
    if (this.#closed) return;
    this.#closed = true;
    this.#rtpCipher.close?.();
    this.#rtpAuth.close?.();
    this.#rtcpCipher.close?.();
    this.#rtcpAuth.close?.();
  }

  /** 0 when this context may run in `direction`, else the error to return. */
  #refuse(direction: SrtpDirection): number {
    if (this.#closed) return SRTP_ERROR.failed;
    return this.direction === direction ? 0 : SRTP_ERROR.direction;
  }
}
