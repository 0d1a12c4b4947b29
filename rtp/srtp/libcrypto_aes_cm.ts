/**
 * AES in counter mode as SRTP defines it (RFC 3711 §4.1.1, see rtp/srtp/aes_cm.ts for the IV),
 * on OpenSSL's AES-128-CTR through FFI (rtp/srtp/_libcrypto.ts): one `EVP_CIPHER_CTX` per
 * session key, keyed once; per packet the IV is set (`EVP_EncryptInit_ex` with no cipher and no
 * key) and the payload encrypted in place (`EVP_EncryptUpdate`). SRTP's counter is the IV's low
 * 16 bits, which CTR mode increments per block like any other, as the 2^16-block limit keeps it
 * from carrying.
 *
 * Nothing is allocated per packet: the IV and the length box are kept, and the view FFI needs
 * of `buf` from `start` is kept too while the caller passes the same buffer and offset (the
 * relay passes its receive buffer, with a 12-byte RTP or 8-byte RTCP header).
 *
 * @module
 */

import { aesCmIv } from "./_aes_cm_iv.ts";
import { type Libcrypto, openLibcrypto } from "./_libcrypto.ts";

const BLOCK = 16;
/** Offsets past this get a new view per packet rather than a cached one. */
const CACHED_OFFSETS = 128;

/** Frees the EVP context of a cipher that was dropped without `close`. */
const unfreed = new FinalizationRegistry<{ lib: Libcrypto; ctx: Deno.PointerObject }>(
  ({ lib, ctx }) => lib.EVP_CIPHER_CTX_free(ctx),
);

/** One session's encryption key and salt; `xor` encrypts and decrypts alike. Not reentrant. */
export class LibcryptoAesCm {
  readonly #lib: Libcrypto;
  #ctx: Deno.PointerObject | null;
  readonly #salt: Uint8Array;
  readonly #iv = new Uint8Array(BLOCK);
  readonly #outLength = new Int32Array(1);
  #viewsOf: Uint8Array | undefined;
  readonly #views: (Uint8Array | undefined)[] = [];

  /** `key`: 16 bytes (AES-128); `salt`: 14 bytes. Throws when libcrypto cannot be loaded. */
  constructor(key: Uint8Array, salt: Uint8Array) {
    if (key.length !== 16 || salt.length !== 14) {
      throw new RangeError(
        `Cannot create AES-CM: key is ${key.length} bytes and salt ${salt.length}, want 16 and 14`,
      );
    }
    const lib = openLibcrypto();
    this.#lib = lib;
    const ctx = lib.EVP_CIPHER_CTX_new();
    if (ctx === null) throw new Error("Cannot create AES-CM: EVP_CIPHER_CTX_new failed");
    if (lib.EVP_EncryptInit_ex(ctx, lib.EVP_aes_128_ctr(), null, key, null) !== 1) {
      lib.EVP_CIPHER_CTX_free(ctx);
      throw new Error("Cannot create AES-CM: EVP_EncryptInit_ex failed");
    }
    this.#ctx = ctx;
    this.#salt = salt.slice();
    unfreed.register(this, { lib, ctx }, this);
  }

  /**
   * XORs the keystream of packet `index` (48 bits) of `ssrc` into `buf[start, end)`, in place.
   * Encryption and decryption are the same operation.
   */
  xor(buf: Uint8Array, start: number, end: number, ssrc: number, index: number): void {
    const n = end - start;
    if (n <= 0) return;
    if (n > 0x10000 * BLOCK) throw new RangeError(`Cannot encrypt ${n} bytes: over 2^16 blocks`);
    const ctx = this.#ctx;
    if (ctx === null) throw new Error("Cannot encrypt: the cipher is closed");
    const iv = this.#iv;
    aesCmIv(iv, this.#salt, ssrc, index);
    iv[14] = 0;
    iv[15] = 0;
    const lib = this.#lib;
    const data = this.#view(buf, start);
    if (
      lib.EVP_EncryptInit_ex(ctx, null, null, null, iv) !== 1 ||
      lib.EVP_EncryptUpdate(ctx, data, this.#outLength, data, n) !== 1
    ) {
      throw new Error("Cannot encrypt: EVP_EncryptUpdate failed");
    }
  }

  /** Frees the EVP context; `xor` throws after this. */
  close(): void {
    if (this.#ctx === null) return;
    unfreed.unregister(this);
    this.#lib.EVP_CIPHER_CTX_free(this.#ctx);
    this.#ctx = null;
    this.#viewsOf = undefined;
    this.#views.length = 0;
  }

  /** `buf` from `start` to its end, cached per offset for the last buffer seen. */
  #view(buf: Uint8Array, start: number): Uint8Array {
    if (start === 0) return buf;
    if (start >= CACHED_OFFSETS) return buf.subarray(start);
    if (this.#viewsOf !== buf) {
      this.#viewsOf = buf;
      this.#views.length = 0;
    }
    return this.#views[start] ??= buf.subarray(start);
  }
}
