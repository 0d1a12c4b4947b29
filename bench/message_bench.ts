/**
 * Micro-benchmark of parseMessage(), the first step of every received SIP message: a typical
 * INVITE with SDP from a phone and the PBX's 200 OK with SDP, as bytes, the way the transport hands
 * them over. Each iteration parses a fresh view, so nothing is cached on the message.
 *
 * npx deno bench bench/message_bench.ts
 */
import { parseMessage } from "../sbc/message/message.ts";

function sip(head: readonly string[], body: string): Uint8Array {
  const text = [...head, `Content-Length: ${body.length}`].join("\r\n") + "\r\n\r\n" + body;
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function sdp(address: string, port: number): string {
  return [
    "v=0",
    `o=- 3970516822 3970516822 IN IP4 ${address}`,
    "s=-",
    `c=IN IP4 ${address}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 0 8 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

/** A phone's INVITE, as it reaches the external interface. */
const INVITE: Uint8Array = sip([
  "INVITE sip:1002@203.0.113.1 SIP/2.0",
  "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-524287-1---9a1c4e2b7d3f8a6c;rport",
  "Max-Forwards: 70",
  "Contact: <sip:1001@198.51.100.20:5060;transport=udp>",
  "To: <sip:1002@203.0.113.1>",
  'From: "Alice" <sip:1001@203.0.113.1>;tag=6a2f9c11',
  "Call-ID: NzQ1ZjRlMDUxYjZkZjQ2ODk3NmRkNmU3ZTE5ZTA1ZjQ",
  "CSeq: 2 INVITE",
  "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE",
  "Content-Type: application/sdp",
  "Supported: replaces, norefersub, extended-refer, timer",
  "User-Agent: Z 5.6.1 v2.10.19.9",
  "Allow-Events: presence, kpml, talk",
], sdp("198.51.100.20", 8000));

/** The PBX's 200 OK for it, as it reaches the internal interface (our Via on top). */
const OK_200: Uint8Array = sip([
  "SIP/2.0 200 OK",
  "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-es-3f1a9c0d2b;rport=5060",
  "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-524287-1---9a1c4e2b7d3f8a6c;rport=5060;" +
  "received=198.51.100.20",
  "Record-Route: <sip:10.0.0.1;lr>",
  'From: "Alice" <sip:1001@203.0.113.1>;tag=6a2f9c11',
  "To: <sip:1002@203.0.113.1>;tag=as5f3e21c4",
  "Call-ID: NzQ1ZjRlMDUxYjZkZjQ2ODk3NmRkNmU3ZTE5ZTA1ZjQ",
  "CSeq: 2 INVITE",
  "Server: Asterisk PBX 20.5.0",
  "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE",
  "Supported: replaces, timer",
  "Contact: <sip:1002@10.0.0.20:5060>",
  "Content-Type: application/sdp",
], sdp("10.0.0.20", 12000));

function check(bytes: Uint8Array): void {
  const r = parseMessage(bytes);
  if (!r.ok) throw new Error(`Cannot run benchmark: ${r.error.message}`);
}
check(INVITE);
check(OK_200);

Deno.bench("parseMessage() INVITE with SDP", { group: "parse" }, () => {
  parseMessage(INVITE.subarray(0));
});

Deno.bench("parseMessage() 200 OK with SDP", { group: "parse" }, () => {
  parseMessage(OK_200.subarray(0));
});
