/**
 * What the relay takes from a message before offer/answer: its rtpproxy_manage letters, parsed
 * once per distinct string, and its SDP, parsed, or why it is left alone (not SDP, or marked
 * `a=nortpproxy:yes` without flag `f`). Both report what they refuse in the log.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type MediaFlags, parseFlags } from "./flags.ts";
import type { MediaMessage } from "./relay_types.ts";
import { parseSdp, type Sdp } from "./sdp.ts";

const log = getLogger(["edgesbc", "rtp"]);

/** Distinct flag strings remembered at most (scripts may build them from anything). */
const CACHED = 256;

/** Parsed flags by their letters; unknown letters are reported once per string. */
export class FlagsCache {
  readonly #flags = new Map<string, MediaFlags>();

  get(letters: string): MediaFlags {
    let flags = this.#flags.get(letters);
    if (flags === undefined) {
      flags = parseFlags(letters);
      if (flags.ignored.length > 0) {
        log.warn("rtp.flags.ignored {flags}: {ignored}", {
          flags: letters,
          ignored: flags.ignored,
        });
      }
      if (this.#flags.size < CACHED) this.#flags.set(letters, flags);
    }
    return flags;
  }
}

/** The message's SDP to rewrite, or why it is left alone (logged). */
export function messageSdp(msg: MediaMessage, flags: MediaFlags): Sdp | "invalid" | "marked" {
  const parsed = parseSdp(msg.sdp ?? "");
  if (!parsed.ok) {
    log.warn("rtp.sdp.invalid {callId} {method}: {message}", {
      callId: msg.callId,
      method: msg.method,
      message: parsed.error.message,
    });
    return "invalid";
  }
  if (parsed.value.nortpproxy && !flags.force) {
    // Debug: it would be a line per message of such a call.
    log.debug("rtp.sdp.marked {callId}: a=nortpproxy:yes, left unchanged", { callId: msg.callId });
    return "marked";
  }
  return parsed.value;
}
