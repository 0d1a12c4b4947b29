/**
 * HMAC-SHA1 (RFC 2104 over SHA-1, FIPS 180-4 §6.1) for the SRTP and SRTCP authentication tags
 * (RFC 3711 §4.2.1), written in TypeScript with the key's inner and outer pad states computed
 * once, so a packet costs only its own SHA-1 blocks plus one outer block and allocates nothing.
 *
 * Why not node:crypto: in Deno 2.9.6 one `createHmac("sha1", key)` per 172-byte packet measured
 * about 14 µs, and `createHash` from copied pad states about 8 µs; this takes about 1.5 µs
 * (bench/srtp_bench.ts prints all three). SHA-1 has no secret-dependent branches or table
 * lookups, so this is as constant-time as a C implementation.
 *
 * @module
 */

import { digestMatches, writeDigest } from "./_sha1_words.ts";

/** FIPS 180-4 §5.3.1: SHA-1's initial hash value. */
const IV = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0];
const BLOCK = 64;
export const SHA1_LENGTH = 20;

/** One keyed HMAC-SHA1; `compute` then `write` or `matches` the result. Not reentrant. */
export class HmacSha1 {
  readonly #inner = new Int32Array(5);
  readonly #outer = new Int32Array(5);
  readonly #h = new Int32Array(5);
  readonly #w = new Int32Array(80);
  /** The last partial block, the trailer and the padding: at most two blocks. */
  readonly #tail = new Uint8Array(2 * BLOCK);

  constructor(key: Uint8Array) {
    // RFC 2104 §2: a key longer than the block is hashed first; SRTP's are 20 bytes.
    let k = key;
    if (k.length > BLOCK) {
      this.#h.set(IV);
      this.#hash(k, k.length, -1, 0);
      k = this.#bytes();
    }
    const pad = new Uint8Array(BLOCK);
    for (const [state, byte] of [[this.#inner, 0x36], [this.#outer, 0x5c]] as const) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] = k[i]! ^ byte;
      this.#h.set(IV);
      this.#block(pad, 0);
      state.set(this.#h);
    }
  }

  /**
   * MACs `data[0, len)`, followed by `trailer` as 4 big-endian bytes when it is 0 or more (SRTP's
   * ROC, RFC 3711 §4.2); the result stays here for `write` and `matches`.
   */
  compute(data: Uint8Array, len: number, trailer = -1): void {
    const h = this.#h;
    h.set(this.#inner);
    this.#hash(data, len, trailer, BLOCK);
    // Outer hash: one block of the inner digest, 0x80, zeros and the length 64 + 20 bytes.
    const w = this.#w;
    for (let i = 0; i < 5; i++) w[i] = h[i]!;
    w[5] = 0x80000000 | 0;
    for (let i = 6; i < 15; i++) w[i] = 0;
    w[15] = (BLOCK + SHA1_LENGTH) * 8;
    h.set(this.#outer);
    this.#rounds();
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
    return this.#bytes();
  }

  #bytes(): Uint8Array {
    const out = new Uint8Array(SHA1_LENGTH);
    this.write(out, 0, SHA1_LENGTH);
    return out;
  }

  /**
   * SHA-1 blocks of `data[0, len)` and the optional trailer onto the state in #h, which has
   * already absorbed `prefix` bytes; ends with the FIPS 180-4 §5.1.1 padding.
   */
  #hash(data: Uint8Array, len: number, trailer: number, prefix: number): void {
    const whole = len - (len % BLOCK);
    for (let o = 0; o < whole; o += BLOCK) this.#block(data, o);
    const tail = this.#tail;
    let t = 0;
    for (let o = whole; o < len; o++) tail[t++] = data[o]!;
    let total = prefix + len;
    if (trailer >= 0) {
      tail[t++] = trailer >>> 24;
      tail[t++] = trailer >>> 16;
      tail[t++] = trailer >>> 8;
      tail[t++] = trailer;
      total += 4;
    }
    tail[t++] = 0x80;
    const end = t + 8 > BLOCK ? 2 * BLOCK : BLOCK;
    tail.fill(0, t, end - 8);
    const bits = total * 8;
    tail[end - 8] = 0;
    tail[end - 7] = 0;
    tail[end - 6] = 0;
    tail[end - 5] = Math.floor(bits / 0x100000000);
    tail[end - 4] = bits >>> 24;
    tail[end - 3] = bits >>> 16;
    tail[end - 2] = bits >>> 8;
    tail[end - 1] = bits;
    this.#block(tail, 0);
    if (end > BLOCK) this.#block(tail, BLOCK);
  }

  /** Loads one 64-byte block as big-endian words and compresses it into #h. */
  #block(bytes: Uint8Array, offset: number): void {
    const w = this.#w;
    for (let i = 0, o = offset; i < 16; i++, o += 4) {
      w[i] = (bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!;
    }
    this.#rounds();
  }

  /** FIPS 180-4 §6.1.2 steps 1–4 on the schedule's first 16 words in #w. */
  #rounds(): void {
    const w = this.#w;
    const h = this.#h;
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!;
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!;
    let i = 0;
    // Four loops of 20 rounds (Ch, Parity, Maj, Parity) keep each loop body branch-free.
    for (; i < 20; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[i]!) | 0;
      e = d, d = c, c = (b << 30) | (b >>> 2), b = a, a = t;
    }
    for (; i < 40; i++) {
      const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[i]!) | 0;
      e = d, d = c, c = (b << 30) | (b >>> 2), b = a, a = t;
    }
    for (; i < 60; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + (0x8f1bbcdc | 0) +
        w[i]!) | 0;
      e = d, d = c, c = (b << 30) | (b >>> 2), b = a, a = t;
    }
    for (; i < 80; i++) {
      const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (0xca62c1d6 | 0) + w[i]!) | 0;
      e = d, d = c, c = (b << 30) | (b >>> 2), b = a, a = t;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0;
  }
}
