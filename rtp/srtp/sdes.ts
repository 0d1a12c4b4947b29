/**
 * SDP security descriptions (SDES, RFC 4568): the value of an `a=crypto` attribute, parsed and
 * formatted (§9.1 grammar), and fresh master keys for our own offers and answers. Pure: no I/O.
 *
 *   a=crypto:<tag> <suite> inline:<base64(key || salt)>[|<lifetime>][|<mki>:<length>] [params]
 *
 * What edgesbc accepts, and refuses so that the offer's next `a=crypto` line is tried instead:
 * - suites AES_CM_128_HMAC_SHA1_80 and _32 (rtp/srtp/suite.ts); any other is refused;
 * - exactly one `inline:` key of 30 bytes; several keys need MKIs (§6.1), and MKI is refused;
 * - a lifetime (`2^31` or a decimal count) is parsed and returned but not enforced: a call ends
 *   long before 2^31 packets;
 * - session parameters: `WSH=` (a replay window hint, §6.3.5) and optional ones, marked with a
 *   leading `-`, are ignored; KDR, UNENCRYPTED_SRTP/SRTCP, UNAUTHENTICATED_SRTP, FEC_KEY and any
 *   other unknown parameter are refused, since they change the transform we would run.
 *
 * Error messages quote the tag and the suite, never the key.
 *
 * @module
 */

import {
  isSrtpSuite,
  MASTER_KEY_LENGTH,
  MASTER_SALT_LENGTH,
  type MasterKey,
  type SrtpSuite,
} from "./suite.ts";

/** One parsed `a=crypto` value. */
export interface SdesCrypto {
  /** Decimal tag of at most 9 digits: the answer echoes the offer's (§5.1). */
  readonly tag: number;
  readonly suite: SrtpSuite;
  readonly master: MasterKey;
  /** Master key lifetime in packets, when the attribute gives one (§6.1); not enforced. */
  readonly lifetime?: number;
  /** The session parameters that were accepted (and ignored), as written. */
  readonly sessionParams: readonly string[];
}

export const SDES_ERROR = {
  syntax: "SRTP_SDES_SYNTAX",
  suite: "SRTP_SDES_SUITE",
  key: "SRTP_SDES_KEY",
  mki: "SRTP_SDES_MKI",
  param: "SRTP_SDES_PARAM",
} as const;
export type SdesErrorCode = typeof SDES_ERROR[keyof typeof SDES_ERROR];

export interface SdesError {
  readonly code: SdesErrorCode;
  readonly message: string;
}

export type SdesResult =
  | { readonly ok: true; readonly value: SdesCrypto }
  | { readonly ok: false; readonly error: SdesError };

const TAG_REGEXP = /^\d{1,9}$/;
const BASE64_REGEXP = /^[A-Za-z0-9+/]+={0,2}$/;
/** §9.1: lifetime = ["2^"] 1*(DIGIT). */
const LIFETIME_REGEXP = /^(2\^)?(\d{1,15})$/;
const WSH_REGEXP = /^WSH=\d+$/;
const KEY_SALT_LENGTH = MASTER_KEY_LENGTH + MASTER_SALT_LENGTH;
const MAX_LIFETIME = 2 ** 48;

/**
 * Parses the value of an `a=crypto` attribute (what follows `a=crypto:`). A value edgesbc cannot
 * use is an error value, never a throw.
 */
export function parseCrypto(value: string): SdesResult {
  const tokens = value.trim().split(/[ \t]+/);
  const [tagText = "", suite = "", keyParams = "", ...params] = tokens;
  if (!TAG_REGEXP.test(tagText)) {
    return fail(SDES_ERROR.syntax, `Cannot parse crypto attribute: tag "${tagText}" is invalid`);
  }
  const what = `crypto attribute ${tagText}`;
  if (keyParams === "") {
    return fail(SDES_ERROR.syntax, `Cannot parse ${what}: key parameters are missing`);
  }
  if (!isSrtpSuite(suite)) {
    return fail(SDES_ERROR.suite, `Cannot use ${what}: suite "${suite}" is not supported`);
  }
  const keys = keyParams.split(";");
  if (keys.length > 1) {
    return fail(SDES_ERROR.mki, `Cannot use ${what}: several keys need an MKI, not supported`);
  }
  const colon = keyParams.indexOf(":");
  // ABNF literals are case-insensitive (RFC 5234 §2.3).
  if (colon < 0 || keyParams.slice(0, colon).toLowerCase() !== "inline") {
    return fail(SDES_ERROR.syntax, `Cannot parse ${what}: key method is not "inline"`);
  }
  const [keySalt = "", ...extras] = keyParams.slice(colon + 1).split("|");
  if (extras.length > 2) {
    return fail(SDES_ERROR.syntax, `Cannot parse ${what}: too many "|" fields after the key`);
  }
  const master = decodeKeySalt(keySalt);
  if (typeof master === "string") {
    return fail(SDES_ERROR.key, `Cannot use ${what}: ${master}`);
  }
  let lifetime: number | undefined;
  for (const [i, extra] of extras.entries()) {
    if (extra.includes(":")) {
      return fail(SDES_ERROR.mki, `Cannot use ${what}: MKI "${extra}" is not supported`);
    }
    const m = i === 0 ? LIFETIME_REGEXP.exec(extra) : null;
    lifetime = m === null ? NaN : m[1] === undefined ? Number(m[2]) : 2 ** Number(m[2]);
    // RFC 3711 §3.2.1: no master key may protect more than 2^48 SRTP packets.
    if (!(lifetime >= 1 && lifetime <= MAX_LIFETIME)) {
      return fail(SDES_ERROR.syntax, `Cannot parse ${what}: lifetime "${extra}" is invalid`);
    }
  }
  const sessionParams: string[] = [];
  for (const param of params) {
    if (!param.startsWith("-") && !WSH_REGEXP.test(param)) {
      const name = param.split("=")[0];
      return fail(
        SDES_ERROR.param,
        `Cannot use ${what}: session parameter "${name}" is not supported`,
      );
    }
    sessionParams.push(param);
  }
  const tag = Number(tagText);
  const parsed: SdesCrypto = lifetime === undefined
    ? { tag, suite, master, sessionParams }
    : { tag, suite, master, lifetime, sessionParams };
  return { ok: true, value: parsed };
}

/** What `formatCrypto` writes; `sessionParams` are appended as given. */
export interface SdesOffer {
  readonly tag: number;
  readonly suite: SrtpSuite;
  readonly master: MasterKey;
  readonly lifetime?: number;
  readonly sessionParams?: readonly string[];
}

/**
 * The value of an `a=crypto` attribute (without `a=crypto:`); a power-of-two lifetime is written
 * as `2^n`.
 */
export function formatCrypto(crypto: SdesOffer): string {
  const keySalt = new Uint8Array(KEY_SALT_LENGTH);
  keySalt.set(crypto.master.key);
  keySalt.set(crypto.master.salt, MASTER_KEY_LENGTH);
  let inline = `inline:${btoa(String.fromCharCode(...keySalt))}`;
  if (crypto.lifetime !== undefined) inline += `|${formatLifetime(crypto.lifetime)}`;
  return [crypto.tag, crypto.suite, inline, ...crypto.sessionParams ?? []].join(" ");
}

/** A fresh random master key and salt (RFC 3711 §8.1.1: from a cryptographic RNG). */
export function newMasterKey(): MasterKey {
  return {
    key: crypto.getRandomValues(new Uint8Array(MASTER_KEY_LENGTH)),
    salt: crypto.getRandomValues(new Uint8Array(MASTER_SALT_LENGTH)),
  };
}

/** The master key and salt in a base64 key-salt, or why it is not one. */
function decodeKeySalt(text: string): MasterKey | string {
  if (text.length % 4 !== 0 || !BASE64_REGEXP.test(text)) return "key is not base64";
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return "key is not base64";
  }
  if (binary.length !== KEY_SALT_LENGTH) {
    return `key and salt are ${binary.length} bytes, want ${KEY_SALT_LENGTH}`;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return { key: bytes.slice(0, MASTER_KEY_LENGTH), salt: bytes.slice(MASTER_KEY_LENGTH) };
}

function formatLifetime(lifetime: number): string {
  const exponent = Math.log2(lifetime);
  return Number.isInteger(exponent) && exponent > 0 ? `2^${exponent}` : String(lifetime);
}

function fail(code: SdesErrorCode, message: string): SdesResult {
  return { ok: false, error: { code, message } };
}
