/**
 * rtpproxy_manage modifier letters (Kamailio rtpproxy module, `rtpproxy_offer` flags) parsed into a
 * typed value. Letters are case-insensitive, as in the module.
 *
 * Supported letters and what edgesbc does with them:
 * - `a` the UA that sent this message does not do symmetric RTP: no latching for its side; the relay
 *   sends to the SDP address only and accepts packets from the party's hosts, any port
 *   (rtpproxy: "asymmetric", implies `r`). Wins over `w` when both are given.
 * - `w` the UA does symmetric RTP: latch on its first packet (rtpproxy: "force symmetric"). This is
 *   the edgesbc default, so `w` only documents intent.
 * - `r` trust the address in the SDP. As rtpproxy, without `r` an outside party's media goes to its
 *   SIP source address (with the SDP's port) until latching; the internal side and `trusted`
 *   sources always use the SDP address (rtp/media_peer.ts).
 * - `c` also rewrite the session-level `c=` when every m= line has its own `c=`. (A session-level
 *   `c=` that some m= line relies on is always rewritten, with or without `c`.)
 * - `o` also rewrite the address in `o=`.
 * - `f` force: rewrite even when the SDP carries `a=nortpproxy:yes`.
 * - `l` lookup only: never create a media session, only update an existing one.
 * - `i`, `e` direction hint: `i` is rtpproxy's first interface, `e` its second (`-l first/second`).
 *   Two letters give [received-on, sent-to]. Kept for the importer; the relay itself uses the
 *   interfaces the pipeline passes in the context.
 *
 * Accepted and ignored (listed in `ignored`): `1`, `2`, `3`, `b` (Via branch / extra id in the
 * session key; edgesbc keys sessions by tags), `x` (IPv4/IPv6 auto-bridge), `t` (destroy only),
 * `z` with its digits (repacketization). Any other character is ignored too and listed, where
 * rtpproxy would fail the call.
 *
 * @module
 */

/** rtpproxy bridge-mode interface letters: `i` = first `-l` address, `e` = second. */
export const DIRECTION_HINT = { i: "i", e: "e" } as const;
export type DirectionHint = typeof DIRECTION_HINT[keyof typeof DIRECTION_HINT];

export interface MediaFlags {
  /** `a`: the sending UA is asymmetric; no latching for its side. */
  readonly asymmetric: boolean;
  /** `w` was given explicitly (symmetric is the default anyway). */
  readonly symmetric: boolean;
  /** `r` (or `a`): send to the SDP address, not the SIP source's (rtp/media_peer.ts). */
  readonly trustAddress: boolean;
  /** `c`: rewrite the session-level c= even when every m= line has its own. */
  readonly sessionConnection: boolean;
  /** `o`: rewrite the o= address. */
  readonly origin: boolean;
  /** `f`: ignore an `a=nortpproxy:yes` marker. */
  readonly force: boolean;
  /** `l`: only update an existing session. */
  readonly lookupOnly: boolean;
  /** `i`/`e` letters in the order given (usually two: received-on, sent-to). */
  readonly direction: readonly DirectionHint[];
  /** Letters accepted but without effect, and unknown characters, in the order seen. */
  readonly ignored: readonly string[];
}

/**
 * Parses an rtpproxy_manage flag string such as `"ieow"`; never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./flags.ts";
 * const flags = parseFlags("ieco");
 * assert.deepEqual(flags.direction, ["i", "e"]);
 * assert.equal(flags.origin, true);
 * ```
 */
export function parseFlags(letters: string): MediaFlags {
  let asymmetric = false;
  let symmetric = false;
  let trustAddress = false;
  let sessionConnection = false;
  let origin = false;
  let force = false;
  let lookupOnly = false;
  const direction: DirectionHint[] = [];
  const ignored: string[] = [];
  for (let i = 0; i < letters.length; i++) {
    const ch = letters[i]!.toLowerCase();
    switch (ch) {
      case "a":
        asymmetric = true;
        trustAddress = true;
        break;
      case "w":
        symmetric = true;
        break;
      case "r":
        trustAddress = true;
        break;
      case "c":
        sessionConnection = true;
        break;
      case "o":
        origin = true;
        break;
      case "f":
        force = true;
        break;
      case "l":
        lookupOnly = true;
        break;
      case "i":
      case "e":
        direction.push(ch);
        break;
      case "z": {
        // zNN: the digits belong to the letter.
        let j = i + 1;
        while (j < letters.length && letters[j]! >= "0" && letters[j]! <= "9") j++;
        ignored.push(letters.slice(i, j));
        i = j - 1;
        break;
      }
      case " ":
        break;
      default:
        ignored.push(letters[i]!);
    }
  }
  return {
    asymmetric,
    symmetric,
    trustAddress,
    sessionConnection,
    origin,
    force,
    lookupOnly,
    direction,
    ignored,
  };
}
