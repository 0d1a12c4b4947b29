/**
 * AES in counter mode as SRTP defines it (RFC 3711 §4.1.1): the keystream of a packet is
 * AES(k_e, IV + j) for blocks j = 0, 1, …, with IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR
 * (i · 2^16), k_s the 112-bit session salt and i the 48-bit packet index.
 *
 * The blocks come from one `aes-128-ecb` cipher (node:crypto, padding off) kept for the key's
 * life: one `update` call per packet over all its counter blocks. In Deno 2.9.6 that costs about
 * 5 µs for a 160-byte payload, nearly all of it the call (op overhead and ECB's block cache),
 * against about 7 µs for a new `aes-128-ctr` cipher per packet. WebCrypto's AES-CTR is async and
 * returns a new buffer per call, so it is no use on the packet path. A table-driven AES in
 * TypeScript measured about twice as fast, but its table lookups leak the key through cache
 * timing, so it is not used.
 *
 * @module
 */

import { aesCmIv } from "./_aes_cm_iv.ts";
import { type Cipheriv, createCipheriv } from "node:crypto";

const BLOCK = 16;

/** One session's encryption key and salt; `xor` encrypts and decrypts alike. Not reentrant. */
export class AesCm {
  readonly #ecb: Cipheriv;
  readonly #salt: Uint8Array;
  readonly #iv = new Uint8Array(14);
  #counters = new Uint8Array(0);

  /** `key`: 16 bytes (AES-128); `salt`: 14 bytes. */
  constructor(key: Uint8Array, salt: Uint8Array) {
    if (key.length !== 16 || salt.length !== 14) {
      throw new RangeError(
        `Cannot create AES-CM: key is ${key.length} bytes and salt ${salt.length}, want 16 and 14`,
      );
    }
    this.#ecb = createCipheriv("aes-128-ecb", key, null);
    this.#ecb.setAutoPadding(false);
    this.#salt = salt.slice();
  }

  /**
   * XORs the keystream of packet `index` (48 bits) of `ssrc` into `buf[start, end)`, in place.
   * Encryption and decryption are the same operation.
   */
  xor(buf: Uint8Array, start: number, end: number, ssrc: number, index: number): void {
    const n = end - start;
    if (n <= 0) return;
    const blocks = Math.ceil(n / BLOCK);
    if (blocks > 0x10000) throw new RangeError(`Cannot encrypt ${n} bytes: over 2^16 blocks`);
    if (this.#counters.length < blocks * BLOCK) this.#counters = new Uint8Array(blocks * BLOCK);
    const c = this.#counters;
    const iv = this.#iv;
    aesCmIv(iv, this.#salt, ssrc, index);
    // Counter block j is the IV with j in its low 16 bits (bytes 14–15).
    for (let j = 0, o = 0; j < blocks; j++, o += BLOCK) {
      for (let k = 0; k < 14; k++) c[o + k] = iv[k]!;
      c[o + 14] = j >>> 8;
      c[o + 15] = j;
    }
    const keystream = this.#ecb.update(c.subarray(0, blocks * BLOCK));
    for (let i = 0; i < n; i++) buf[start + i] = buf[start + i]! ^ keystream[i]!;
  }
}
