/**
 * HMAC-SHA1 (RFC 2104) for the SRTP and SRTCP tags (RFC 3711 §4.2.1) on OpenSSL's SHA-1 block
 * functions through FFI (rtp/srtp/_libcrypto.ts), with the key's inner and outer pad states
 * computed once and kept as `SHA_CTX` bytes in JS buffers. Per packet: copy the inner state into
 * the working `SHA_CTX` (a JS `set`, no call), `SHA1_Update` the packet (and the ROC),
 * `SHA1_Final` the inner digest straight into a prepared outer block (digest, 0x80, zeros,
 * length), copy the outer state in and `SHA1_Transform` that one block: three or four calls, no
 * allocation, OpenSSL's SHA-1 assembly (SHA-NI where the CPU has it).
 *
 * Why not `HMAC_CTX` or `EVP_MAC`: in OpenSSL 3.0 both reset a keyed context by copying the
 * inner digest context, and that copy allocates a new provider context (`dupctx`) per packet.
 *
 * @module
 */

import { digestMatches, writeDigest } from "./_sha1_words.ts";
import { type Libcrypto, openLibcrypto, SHA_CTX_SIZE } from "./_libcrypto.ts";

const BLOCK = 64;
export const SHA1_LENGTH = 20;
const FOUR = 4n;

/**
 * `size_t` arguments go through FFI as bigints, a heap object each: the lengths of packets up to
 * this many bytes are made once and kept (`lengthOf`).
 */
const CACHED_LENGTHS = 2048;
const lengths: bigint[] = [];

/** `len` as a bigint, from the cache when it is small enough. */
function lengthOf(len: number): bigint {
  if (len >= CACHED_LENGTHS) return BigInt(len);
  return lengths[len] ??= BigInt(len);
}

/** One keyed HMAC-SHA1; `compute` then `write` or `matches` the result. Not reentrant. */
export class LibcryptoHmacSha1 {
  readonly #lib: Libcrypto;
  readonly #inner = new Uint8Array(SHA_CTX_SIZE);
  readonly #outer = new Uint8Array(SHA_CTX_SIZE);
  readonly #ctx = new Uint8Array(SHA_CTX_SIZE);
  /** h0…h4 of #ctx, host order: the MAC after `compute`. */
  readonly #h = new Uint32Array(this.#ctx.buffer, 0, 5);
  /** The outer hash's only block: inner digest, then padding for 64 + 20 bytes. */
  readonly #block = new Uint8Array(BLOCK);
  readonly #trailer = new Uint8Array(4);

  /** `key`: any length (SRTP's are 20). Throws when libcrypto cannot be loaded. */
  constructor(key: Uint8Array) {
    const lib = openLibcrypto();
    this.#lib = lib;
    // RFC 2104 §2: a key longer than the block is hashed first.
    let k = key;
    if (k.length > BLOCK) {
      k = new Uint8Array(SHA1_LENGTH);
      lib.SHA1_Init(this.#ctx);
      lib.SHA1_Update(this.#ctx, key, BigInt(key.length));
      lib.SHA1_Final(k, this.#ctx);
    }
    const pad = new Uint8Array(BLOCK);
    for (const [state, byte] of [[this.#inner, 0x36], [this.#outer, 0x5c]] as const) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] = k[i]! ^ byte;
      lib.SHA1_Init(state);
      lib.SHA1_Update(state, pad, BigInt(BLOCK));
    }
    pad.fill(0);
    const block = this.#block;
    block[SHA1_LENGTH] = 0x80;
    const bits = (BLOCK + SHA1_LENGTH) * 8;
    block[BLOCK - 2] = bits >>> 8;
    block[BLOCK - 1] = bits;
  }

  /**
   * MACs `data[0, len)`, followed by `trailer` as 4 big-endian bytes when it is 0 or more (SRTP's
   * ROC, RFC 3711 §4.2); the result stays here for `write` and `matches`.
   */
  compute(data: Uint8Array, len: number, trailer = -1): void {
    const lib = this.#lib;
    const ctx = this.#ctx;
    ctx.set(this.#inner);
    lib.SHA1_Update(ctx, data, lengthOf(len));
    if (trailer >= 0) {
      const t = this.#trailer;
      t[0] = trailer >>> 24;
      t[1] = trailer >>> 16;
      t[2] = trailer >>> 8;
      t[3] = trailer;
      lib.SHA1_Update(ctx, t, FOUR);
    }
    lib.SHA1_Final(this.#block, ctx);
    ctx.set(this.#outer);
    lib.SHA1_Transform(ctx, this.#block);
  }

  /** Writes the first `n` bytes of the last MAC (a truncated tag) at `out[offset]`. */
  write(out: Uint8Array, offset: number, n: number): void {
    writeDigest(this.#h, out, offset, n);
  }

  /** The first `n` bytes of the last MAC equal `data[offset, offset + n)`, in constant time. */
  matches(data: Uint8Array, offset: number, n: number): boolean {
    return digestMatches(this.#h, data, offset, n);
  }

  /** The whole 20-byte MAC of the last `compute`, as a new array. */
  digest(): Uint8Array {
    const out = new Uint8Array(SHA1_LENGTH);
    this.write(out, 0, SHA1_LENGTH);
    return out;
  }

  /** Wipes the pad states; `compute` gives wrong MACs after this. */
  close(): void {
    this.#inner.fill(0);
    this.#outer.fill(0);
    this.#ctx.fill(0);
  }
}
