/**
 * SRTP at the relay (SDES, RFC 4568), per interface: `srtp = "off" | "optional" | "mandatory"`.
 * A side whose mode is not "off" has its SRTP ended at the relay: what its party sends is
 * decrypted with the party's own key, what goes to it is encrypted with a key the relay made for
 * that leg and sent in its `a=crypto`. Keys never cross to the other side, and each leg has its
 * own (rtpengine's SDES bridging; rtpproxy cannot do it).
 *
 * - An offer from an SRTP side: RTP/SAVP with a usable `a=crypto` (the first line of a suite we
 *   know) is taken; RTP/SAVP without one is refused (488); plain RTP/AVP is taken when the side
 *   is "optional", refused when "mandatory". DTLS-SRTP (UDP/TLS/RTP/SAVP) is refused.
 * - The offer towards a side: "mandatory" gets RTP/SAVP with the relay's key for that leg;
 *   "optional" and "off" get plain RTP/AVP when the other party's SRTP ends here.
 * - Answers mirror it: the answerer's key is taken, the offerer gets the relay's key with the
 *   tag and suite it chose (§5.1).
 * - Both sides "off": the SDP's profile and `a=crypto` pass untouched, as before. An SRTP offer
 *   from an "off" side towards an SRTP side is refused: its key would have to cross.
 *
 * Pure decisions over SDP data; the relay applies them (opens contexts with `syncContexts`).
 *
 * @module
 */

import { SRTP_MODE, type SrtpMode } from "../config/config.ts";
import type { Leg } from "./packet/leg.ts";
import type { SrtpContext } from "./srtp/context.ts";
import { formatCrypto, newMasterKey, parseCrypto, type SdesCrypto } from "./srtp/sdes.ts";
import { SRTP_SUITE } from "./srtp/suite.ts";
import type { SdpStream, StreamSecurity } from "./sdp.ts";

/** What one party's leg of one stream speaks: the keys each way, as SDES lines. */
export interface LegCrypto {
  /** The party's key (what it sends), from its `a=crypto`; undefined: it sends RTP. */
  theirs: SdesCrypto | undefined;
  /** Our key towards it, sent in our `a=crypto`; undefined: we send it RTP. */
  ours: SdesCrypto | undefined;
}

export function noCrypto(): LegCrypto {
  return { theirs: undefined, ours: undefined };
}

/** What an offer or answer from a party says of its SRTP, or why it cannot be taken. */
export type ReadSecurity =
  | { readonly ok: true; readonly theirs: SdesCrypto | undefined; readonly ended: boolean }
  | { readonly ok: false; readonly reason: string };

const SAVP = /^RTP\/SAVPF?$/i;
const DTLS = /TLS/i;

/** The stream's profile is SRTP with SDES (RTP/SAVP or RTP/SAVPF). */
export function isSavp(st: SdpStream): boolean {
  return SAVP.test(st.protocol);
}

/**
 * Reads a party's m= line on a side of mode `mode`, the other party's side being `otherMode`.
 * `ended`: the relay ends this party's SRTP (its side is not "off").
 */
export function readSecurity(st: SdpStream, mode: SrtpMode, otherMode: SrtpMode): ReadSecurity {
  if (mode === SRTP_MODE.off) {
    // Its key would reach the other side, which would decrypt with it: never.
    if ((isSavp(st) || DTLS.test(st.protocol)) && otherMode !== SRTP_MODE.off) {
      return { ok: false, reason: "SRTP is not enabled on this interface" };
    }
    return { ok: true, theirs: undefined, ended: false };
  }
  if (DTLS.test(st.protocol)) return { ok: false, reason: "DTLS-SRTP is not supported" };
  if (!isSavp(st)) {
    return mode === SRTP_MODE.mandatory
      ? { ok: false, reason: "SRTP required" }
      : { ok: true, theirs: undefined, ended: true };
  }
  for (const line of st.crypto) {
    const parsed = parseCrypto(line);
    if (parsed.ok) return { ok: true, theirs: parsed.value, ended: true };
  }
  return { ok: false, reason: "No usable crypto attribute" };
}

/**
 * The profile and `a=crypto` for an offer sent to a party on a side of `mode`; undefined leaves
 * the m= line as it is (SRTP ends on neither side). Makes our key for the leg when it needs one
 * and has none (a re-offer keeps it, and with it the rollover counters).
 */
export function offerSecurity(
  st: SdpStream,
  mode: SrtpMode,
  senderEnded: boolean,
  leg: LegCrypto,
): StreamSecurity | undefined {
  if (mode === SRTP_MODE.mandatory) {
    leg.ours ??= ourKey(1, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
    return { protocol: savp(st.protocol, true), crypto: [formatCrypto(leg.ours)] };
  }
  leg.ours = undefined;
  if (mode === SRTP_MODE.off && !senderEnded) return undefined;
  return { protocol: savp(st.protocol, false), crypto: [] };
}

/**
 * The profile and `a=crypto` for an answer sent to the offerer (on a side of `mode`): our key
 * with the tag and suite of the line we took from its offer, or plain when it offered RTP.
 */
export function answerSecurity(
  st: SdpStream,
  mode: SrtpMode,
  answererEnded: boolean,
  leg: LegCrypto,
): StreamSecurity | undefined {
  const theirs = leg.theirs;
  if (mode !== SRTP_MODE.off && theirs !== undefined) {
    if (leg.ours?.tag !== theirs.tag || leg.ours.suite !== theirs.suite) {
      leg.ours = ourKey(theirs.tag, theirs.suite);
    }
    return { protocol: savp(st.protocol, true), crypto: [formatCrypto(leg.ours)] };
  }
  leg.ours = undefined;
  if (mode === SRTP_MODE.off && !answererEnded) return undefined;
  return { protocol: savp(st.protocol, false), crypto: [] };
}

/**
 * Whether the party must send SRTP: its side is "mandatory", or (answering) the relay offered it
 * SRTP, our key in the offer. Then a message of its without a usable key leaves its leg closed to
 * whatever it sends (`Leg.srtpRequired`). An offerer on an "optional" side sets its own terms.
 */
export function srtpRequired(mode: SrtpMode, leg: LegCrypto, answering: boolean): boolean {
  return mode === SRTP_MODE.mandatory ||
    (answering && mode !== SRTP_MODE.off && leg.ours !== undefined);
}

/** Opens a context for a key and a direction (rtp/srtp/open_context.ts, or a test's). */
export type OpenContext = (crypto: SdesCrypto, direction: "inbound" | "outbound") => SrtpContext;

/**
 * Brings a leg's contexts in line with its keys: a key that changed gets a new context (and the
 * old one is closed); an unchanged one keeps its context, rollover counter and replay window.
 */
export function syncContexts(leg: Leg, crypto: LegCrypto, open: OpenContext): void {
  leg.srtpIn = synced(leg.srtpIn, crypto.theirs, "inbound", open, leg.srtpInKey);
  leg.srtpInKey = crypto.theirs;
  leg.srtpOut = synced(leg.srtpOut, crypto.ours, "outbound", open, leg.srtpOutKey);
  leg.srtpOutKey = crypto.ours;
}

/** Closes a leg's contexts (its stream is closed). */
export function closeContexts(leg: Leg): void {
  leg.srtpIn?.close();
  leg.srtpOut?.close();
  leg.srtpIn = leg.srtpOut = undefined;
  leg.srtpInKey = leg.srtpOutKey = undefined;
}

function synced(
  context: SrtpContext | undefined,
  key: SdesCrypto | undefined,
  direction: "inbound" | "outbound",
  open: OpenContext,
  keyed: SdesCrypto | undefined,
): SrtpContext | undefined {
  if (key !== undefined && keyed !== undefined && sameKey(key, keyed) && context !== undefined) {
    return context;
  }
  context?.close();
  return key === undefined ? undefined : open(key, direction);
}

function sameKey(a: SdesCrypto, b: SdesCrypto): boolean {
  return a.suite === b.suite && equalBytes(a.master.key, b.master.key) &&
    equalBytes(a.master.salt, b.master.salt);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function ourKey(tag: number, suite: SdesCrypto["suite"]): SdesCrypto {
  return { tag, suite, master: newMasterKey(), sessionParams: [] };
}

/** RTP/AVP(F) <-> RTP/SAVP(F), keeping the feedback profile (RFC 5124). */
function savp(protocol: string, secure: boolean): string {
  const feedback = /F$/i.test(protocol);
  return `RTP/${secure ? "SAVP" : "AVP"}${feedback ? "F" : ""}`;
}
