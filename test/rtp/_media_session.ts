/**
 * Media session records for testing rtp/'s pure functions without sockets: SDP parsed from a few
 * lines, messages as MediaMessage literals, and legs on sockets that must never be used.
 */
import type { Side } from "../../config/config.ts";
import type { RelaySocket } from "../../rtp/packet/backend.ts";
import type { Leg } from "../../rtp/packet/leg.ts";
import type { MediaMessage } from "../../rtp/relay_types.ts";
import { parseSdp, type Sdp } from "../../rtp/sdp.ts";
import { newLeg } from "../../rtp/session.ts";

/** A socket the pure functions must not touch. */
const NO_SOCKET: RelaySocket = {
  start: () => {
    throw new Error("a pure function started a socket");
  },
  close: () => {
    throw new Error("a pure function closed a socket");
  },
};

/** An SDP with one c= address and one m= line per entry (`[type, port, ...attribute lines]`). */
export function sdp(address: string, streams: readonly (readonly [string, number, ...string[]])[]) {
  const lines = ["v=0", `o=- 1 1 IN IP4 ${address}`, "s=-", `c=IN IP4 ${address}`, "t=0 0"];
  for (const [type, port, ...attributes] of streams) {
    lines.push(`m=${type} ${port} RTP/AVP 0`, ...attributes);
  }
  const parsed = parseSdp(lines.join("\r\n") + "\r\n");
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value satisfies Sdp;
}

/** A pair of legs as the relay opens them for one stream: caller's side, callee's side. */
export function legs(sides: readonly [Side, Side], port: number): readonly [Leg, Leg] {
  return [
    newLeg(sides[0], port, NO_SOCKET, NO_SOCKET),
    newLeg(sides[1], port + 2, NO_SOCKET, NO_SOCKET),
  ];
}

/** A MediaMessage of the call `c1` between tags `caller` and `callee`. */
export function message(fields: Partial<MediaMessage> = {}): MediaMessage {
  return {
    kind: "request",
    method: "INVITE",
    status: 0,
    callId: "c1",
    fromTag: "caller",
    toTag: undefined,
    cseq: 1,
    sdp: undefined,
    ...fields,
  };
}
