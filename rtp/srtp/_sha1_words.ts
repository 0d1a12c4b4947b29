/**
 * A SHA-1 result held as its five 32-bit state words (big-endian order of the digest), read out
 * the way SRTP needs it: a truncated tag written, or compared in constant time. Shared by the
 * HMAC-SHA1 implementations.
 *
 * @module
 */

/** SHA-1 state words, signed or not: only their low 32 bits are read. */
export type Sha1Words = Int32Array | Uint32Array;

/** Writes the first `n` bytes of the digest `h` at `out[offset]`. */
export function writeDigest(h: Sha1Words, out: Uint8Array, offset: number, n: number): void {
  for (let i = 0; i < n; i++) out[offset + i] = h[i >> 2]! >>> (24 - 8 * (i & 3));
}

/** The first `n` bytes of the digest `h` equal `data[offset, offset + n)`, in constant time. */
export function digestMatches(h: Sha1Words, data: Uint8Array, offset: number, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) {
    diff |= ((h[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff) ^ data[offset + i]!;
  }
  return diff === 0;
}
