/**
 * The AES-CM IV of one packet (RFC 3711 §4.1.1), shared by the AES-CM implementations: the session
 * salt with the SSRC XORed onto bytes 4–7 and the 48-bit index onto bytes 8–13. Bytes 14–15 (the
 * block counter) are the caller's.
 *
 * @module
 */

/** Writes the IV for `ssrc` and `index` over `iv[0, 14)`. */
export function aesCmIv(iv: Uint8Array, salt: Uint8Array, ssrc: number, index: number): void {
  iv.set(salt);
  const hi = Math.floor(index / 0x100000000);
  const lo = index >>> 0;
  iv[4] = iv[4]! ^ (ssrc >>> 24);
  iv[5] = iv[5]! ^ (ssrc >>> 16);
  iv[6] = iv[6]! ^ (ssrc >>> 8);
  iv[7] = iv[7]! ^ ssrc;
  iv[8] = iv[8]! ^ (hi >>> 8);
  iv[9] = iv[9]! ^ hi;
  iv[10] = iv[10]! ^ (lo >>> 24);
  iv[11] = iv[11]! ^ (lo >>> 16);
  iv[12] = iv[12]! ^ (lo >>> 8);
  iv[13] = iv[13]! ^ lo;
}
