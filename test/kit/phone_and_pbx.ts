/**
 * The two parties of the default config's unit tests, and the messages they send: a phone outside
 * (192.0.2.50:5062) calling through the SBC (127.0.1.1 outside, 127.0.2.1 inside) to the PBX
 * (127.0.2.10:5060). All IP literals, so routing needs no DNS.
 *
 * @module
 */
import { getHeaderValues } from "../../sbc/message/message.ts";
import { type SipMessage } from "../../sbc/message/sip_message.ts";
import { buildResponse } from "../../sbc/message/response.ts";
import type { Peer } from "../../sbc/transport/peer.ts";
import { sip } from "./sip_text.ts";

/** The phone, on the external side: where its requests come from. */
export const PHONE: Peer = { host: "192.0.2.50", port: 5062 };
/** The PBX of the default config, on the internal side. */
export const PBX: Peer = { host: "127.0.2.10", port: 5060 };

export interface RequestOptions {
  /** Request-URI; default `sip:100@127.0.1.1` (the SBC's external address). */
  readonly uri?: string;
  /** The To tag of an in-dialog request. */
  readonly toTag?: string;
  /** Header lines added last. */
  readonly extra?: readonly string[];
  /** Max-Forwards; default 70, negative = no Max-Forwards header. */
  readonly mf?: number;
  /** Default `call1@<host>`. */
  readonly callId?: string;
  /** Via branch; default `z9hG4bKphone1`. */
  readonly branch?: string;
  /** CSeq number; default 1 (a later request of the dialog takes a higher one). */
  readonly cseq?: number;
  /**
   * The address the phone believes it has, written in Via, Contact and Call-ID; default
   * `PHONE.host`. A phone behind NAT writes a private one and is seen at `PHONE`.
   */
  readonly host?: string;
  /** The body (give its Content-Type in `extra`); default none. */
  readonly body?: string;
}

/** A request from the phone (or, with `toTag`, in dialog), CSeq 1 unless `cseq` says. */
export function request(method: string, options: RequestOptions = {}): string {
  const host = options.host ?? PHONE.host;
  const mf = options.mf ?? 70;
  return sip([
    `${method} ${options.uri ?? "sip:100@127.0.1.1"} SIP/2.0`,
    `Via: SIP/2.0/UDP ${host}:${PHONE.port};branch=${options.branch ?? "z9hG4bKphone1"};rport`,
    ...(mf < 0 ? [] : [`Max-Forwards: ${mf}`]),
    'From: "Alice" <sip:alice@example.com>;tag=a1',
    `To: <sip:100@127.0.1.1>${options.toTag ? `;tag=${options.toTag}` : ""}`,
    `Call-ID: ${options.callId ?? `call1@${host}`}`,
    `CSeq: ${options.cseq ?? 1} ${method}`,
    `Contact: <sip:alice@${host}:${PHONE.port}>`,
    "User-Agent: phone/1.0",
    ...(options.extra ?? []),
  ], options.body);
}

/**
 * The PBX's answer to a request it got from the SBC: Record-Route copied, To tag `pbx1` (not on
 * 100), the PBX's Contact on 180 and 2xx unless `headers` bring one, then `headers`, then `body`
 * (give its Content-Type in `headers`).
 */
export function answer(
  req: SipMessage,
  status: number,
  reason: string,
  headers: readonly (readonly [string, string])[] = [],
  body = "",
): string {
  const contact = (status === 180 || (status >= 200 && status < 300)) &&
      !headers.some(([name]) => name.toLowerCase() === "contact")
    ? [["Contact", `<sip:100@${PBX.host}:${PBX.port}>`] as const]
    : [];
  return buildResponse(req, status, reason, {
    ...(status > 100 && { toTag: "pbx1" }),
    headers: [
      ...getHeaderValues(req, "record-route").map((r) => ["Record-Route", r] as const),
      ...contact,
      ...headers,
    ],
    body,
  });
}
