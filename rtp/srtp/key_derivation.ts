/**
 * SRTP session keys from a master key and salt (RFC 3711 §4.3), with key derivation rate 0: the
 * keys are derived once per master key and never re-derived (§4.3.1). An SDES attribute that
 * asks for another rate (a KDR session parameter) is refused by rtp/srtp/sdes.ts.
 *
 * @module
 */

import { AesCm } from "./aes_cm.ts";
import { AUTH_KEY_LENGTH, MASTER_KEY_LENGTH, MASTER_SALT_LENGTH, type MasterKey } from "./suite.ts";

/** The three keys of one protocol (SRTP or SRTCP). */
export interface SessionKeys {
  /** k_e: AES-128 key, 16 bytes. */
  readonly cipherKey: Uint8Array;
  /** k_a: HMAC-SHA1 key, 20 bytes. */
  readonly authKey: Uint8Array;
  /** k_s: 14 bytes. */
  readonly salt: Uint8Array;
}

export interface DerivedKeys {
  readonly srtp: SessionKeys;
  readonly srtcp: SessionKeys;
}

/** RFC 3711 §4.3.2 labels. */
const LABEL = {
  srtpCipher: 0x00,
  srtpAuth: 0x01,
  srtpSalt: 0x02,
  srtcpCipher: 0x03,
  srtcpAuth: 0x04,
  srtcpSalt: 0x05,
} as const;

/** The SRTP and SRTCP session keys of a master key (RFC 3711 §4.3.1, kdr 0). */
export function deriveSessionKeys(master: MasterKey): DerivedKeys {
  // §4.3.3: the PRF is AES-CM keyed with the master key, with IV = (key_id XOR master_salt) · 2^16
  // and key_id = label · 2^48 when r = 0. That IV is the packet IV of §4.1.1 for SSRC = label and
  // index 0 (label · 2^48 · 2^16 = label · 2^64), so the packet routine computes it as well.
  const prf = new AesCm(master.key, master.salt);
  const derive = (label: number, length: number) => {
    const out = new Uint8Array(length);
    prf.xor(out, 0, length, label, 0);
    return out;
  };
  return {
    srtp: {
      cipherKey: derive(LABEL.srtpCipher, MASTER_KEY_LENGTH),
      authKey: derive(LABEL.srtpAuth, AUTH_KEY_LENGTH),
      salt: derive(LABEL.srtpSalt, MASTER_SALT_LENGTH),
    },
    srtcp: {
      cipherKey: derive(LABEL.srtcpCipher, MASTER_KEY_LENGTH),
      authKey: derive(LABEL.srtcpAuth, AUTH_KEY_LENGTH),
      salt: derive(LABEL.srtcpSalt, MASTER_SALT_LENGTH),
    },
  };
}
