/**
 * The SRTP crypto suites edgesbc speaks (RFC 4568 §6.2): AES counter mode with a 128-bit key and
 * HMAC-SHA1, with an 80-bit or a 32-bit SRTP tag. SRTCP's tag is 80 bits under both: RFC 3711
 * §5.2 forbids HMAC-SHA1 tags shorter than 80 bits for SRTCP (libsrtp 2.5's profile for
 * `aes128_cm_sha1_32` agrees: SRTCP tag length 10, and the interop tests hold us to it).
 *
 * @module
 */

export const SRTP_SUITE = {
  AES_CM_128_HMAC_SHA1_80: "AES_CM_128_HMAC_SHA1_80",
  AES_CM_128_HMAC_SHA1_32: "AES_CM_128_HMAC_SHA1_32",
} as const;
export type SrtpSuite = typeof SRTP_SUITE[keyof typeof SRTP_SUITE];

/** Master key bytes of both suites (AES-128). */
export const MASTER_KEY_LENGTH = 16;
/** Master salt bytes of both suites (RFC 3711 §8.2: 112 bits). */
export const MASTER_SALT_LENGTH = 14;
/** Session authentication key bytes (RFC 3711 §5.2: n_a = 160 bits). */
export const AUTH_KEY_LENGTH = 20;
/** SRTCP authentication tag bytes under every suite (RFC 3711 §5.2). */
export const SRTCP_TAG_LENGTH = 10;
/** The E flag and 31-bit SRTCP index that precede the SRTCP tag (RFC 3711 §3.4). */
export const SRTCP_INDEX_LENGTH = 4;

/** A master key and salt (RFC 3711 §3.2.1), as carried by an SDES `inline:` (RFC 4568 §6.1). */
export interface MasterKey {
  /** 16 bytes. */
  readonly key: Uint8Array;
  /** 14 bytes. */
  readonly salt: Uint8Array;
}

/** A name from SDP that is one of the suites above. */
export function isSrtpSuite(name: string): name is SrtpSuite {
  return name === SRTP_SUITE.AES_CM_128_HMAC_SHA1_80 ||
    name === SRTP_SUITE.AES_CM_128_HMAC_SHA1_32;
}

/** SRTP authentication tag bytes of a suite: 10 or 4. */
export function srtpTagLength(suite: SrtpSuite): number {
  return suite === SRTP_SUITE.AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
}
