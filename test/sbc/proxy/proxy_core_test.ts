import assert from "node:assert/strict";
import type { Side, SipProto } from "../../../config/config.ts";
import { getHeader, getHeaderValues } from "../../../sbc/message/message.ts";
import { type SipMessage } from "../../../sbc/message/sip_message.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { TIMER } from "../../../sbc/transaction/timers.ts";
import { DEFAULT_CONFIG_TOML } from "../../../config/default.ts";
import { loadConfig } from "../../../config/load.ts";
import { defaultConfig } from "../../../config/default.ts";
import { parseCidr } from "../../../config/cidr.ts";
import type { Peer } from "../../../sbc/transport/peer.ts";
import { type CoreEnv, coreEnv, inbound, type Sent, settle } from "../../kit/core_env.ts";
import { answer, PBX, PHONE, request } from "../../kit/phone_and_pbx.ts";
import { sip } from "../../kit/sip_text.ts";

// The phone is behind NAT: it writes 10.0.0.5 in Via, Contact and Call-ID and is seen at PHONE.
const PHONE_PRIVATE = "10.0.0.5";
const EXT_RR = "<sip:127.0.1.1:5060;lr>";
const INT_RR = "<sip:127.0.2.1:5060;lr>";

function assertTo(s: Sent | undefined, side: Side, dest: Peer): Sent {
  assert.ok(s, "a message was sent");
  assert.equal(s.target.side, side);
  assert.deepEqual(s.target.dest, dest);
  return s;
}

/** Sends an INVITE from the phone and returns what went to the PBX. */
async function callToPbx(env: CoreEnv): Promise<SipMessage> {
  await env.receive("external", PHONE, request("INVITE", { host: PHONE_PRIVATE }));
  const out = env.take();
  assert.equal(out.length, 2);
  assert.equal(out[0]!.msg.status, 100);
  return assertTo(out[1], "internal", PBX).msg;
}

Deno.test("ProxyCore.receive() answers an INVITE from outside with 100 and forwards it to the PBX", async () => {
  const env = coreEnv();
  await env.receive("external", PHONE, request("INVITE", { host: PHONE_PRIVATE }));
  const [trying, fwd, ...rest] = env.take();
  assert.equal(rest.length, 0);
  const t = assertTo(trying, "external", PHONE).msg;
  assert.equal(t.status, 100);
  assert.equal(t.toTag, undefined, "no To tag on 100 (RFC 3261 §8.2.6.2)");
  assert.equal(t.vias[0]!.branch, "z9hG4bKphone1");
  const req = assertTo(fwd, "internal", PBX).msg;
  assert.equal(req.method, "INVITE");
  assert.equal(fwd!.target.proto, "udp");
  // Our Via on top, the phone's below it marked with where it really came from.
  assert.equal(req.vias.length, 2);
  assert.equal(req.vias[0]!.host, "127.0.2.1");
  assert.equal(req.vias[0]!.port, 5060);
  assert.ok(req.vias[0]!.branch?.startsWith("z9hG4bK"));
  assert.equal(req.vias[1]!.params.received, "192.0.2.50");
  assert.equal(req.vias[1]!.params.rport, "5062");
  assert.equal(req.maxForwards, 69);
  // Two Record-Route entries: the internal-facing one on top, then the external-facing one.
  assert.deepEqual(getHeaderValues(req, "record-route"), [INT_RR, EXT_RR]);
  assert.equal(req.callId, "call1@10.0.0.5");
  env.core.close();
  assert.equal(env.clock.pending, 0);
});

Deno.test("ProxyCore forwards 180 and 200 from the PBX to the caller without our Via", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  await env.receive("internal", PBX, answer(req, 100, "Trying"));
  assert.deepEqual(env.take(), [], "100 is hop by hop");
  await env.receive("internal", PBX, answer(req, 180, "Ringing"));
  const ringing = assertTo(env.take()[0], "external", PHONE).msg;
  assert.equal(ringing.status, 180);
  assert.equal(ringing.vias.length, 1);
  assert.equal(ringing.vias[0]!.branch, "z9hG4bKphone1");
  assert.equal(ringing.vias[0]!.params.received, "192.0.2.50");
  assert.equal(ringing.toTag, "pbx1");
  // Topology hiding (on outside by default): only our external entry shows.
  assert.deepEqual(getHeaderValues(ringing, "record-route"), [EXT_RR]);
  const okText = answer(req, 200, "OK");
  await env.receive("internal", PBX, okText);
  const ok = env.take();
  assert.equal(ok.length, 1);
  assert.equal(assertTo(ok[0], "external", PHONE).msg.status, 200);
  assert.equal(ok[0]!.msg.vias.length, 1);
  // The PBX retransmits its 2xx until the ACK: each copy is passed on (RFC 6026).
  await env.receive("internal", PBX, okText);
  const again = env.take();
  assert.equal(again.length, 1);
  assert.equal(again[0]!.text, ok[0]!.text);
  env.finish();
});

Deno.test("ProxyCore loose-routes the ACK for a 2xx to the PBX and a BYE from the PBX to the phone", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  await env.receive("internal", PBX, answer(req, 200, "OK"));
  env.take();
  // The phone's route set is the Record-Route list reversed (RFC 3261 §12.1.2).
  const dialogHeaders = (method: string, cseq: number, branch: string) => [
    `Via: SIP/2.0/UDP 10.0.0.5:5062;branch=${branch};rport`,
    `Route: ${EXT_RR}, ${INT_RR}`,
    "Max-Forwards: 70",
    'From: "Alice" <sip:alice@127.0.1.1>;tag=a1',
    "To: <sip:100@127.0.1.1>;tag=pbx1",
    "Call-ID: call1@10.0.0.5",
    `CSeq: ${cseq} ${method}`,
  ];
  const ackText = sip([
    "ACK sip:100@127.0.2.10:5060 SIP/2.0",
    ...dialogHeaders("ACK", 1, "z9hG4bKack1"),
  ]);
  await env.receive("external", PHONE, ackText);
  const ack = env.take();
  assert.equal(ack.length, 1);
  const a = assertTo(ack[0], "internal", PBX).msg;
  assert.equal(a.method, "ACK");
  assert.equal(a.uri, "sip:100@127.0.2.10:5060");
  assert.deepEqual(getHeaderValues(a, "route"), []);
  assert.equal(a.vias[0]!.host, "127.0.2.1");
  assert.equal(a.maxForwards, 69);
  // A retransmitted ACK goes out again with the same branch (RFC 3261 §16.11).
  await env.receive("external", PHONE, ackText);
  const ack2 = env.take();
  assert.equal(ack2.length, 1);
  assert.equal(ack2[0]!.msg.vias[0]!.branch, a.vias[0]!.branch);

  // BYE from the PBX: its route set is the Record-Route list as received.
  const byeText = sip([
    "BYE sip:alice@10.0.0.5:5062 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxbye",
    `Route: ${INT_RR}, ${EXT_RR}`,
    "Max-Forwards: 70",
    "From: <sip:100@127.0.1.1>;tag=pbx1",
    'To: "Alice" <sip:alice@127.0.1.1>;tag=a1',
    "Call-ID: call1@10.0.0.5",
    "CSeq: 2 BYE",
  ]);
  await env.receive("internal", PBX, byeText);
  const bye = env.take();
  assert.equal(bye.length, 1);
  // The phone's Contact is a private address behind NAT: the BYE goes where its SIP came from.
  const b = assertTo(bye[0], "external", PHONE).msg;
  assert.equal(b.method, "BYE");
  assert.equal(b.uri, "sip:alice@10.0.0.5:5062");
  assert.deepEqual(getHeaderValues(b, "route"), []);
  assert.equal(b.vias[0]!.host, "127.0.1.1");
  assert.deepEqual(getHeaderValues(b, "record-route"), []);
  // The phone's 200 goes back to the PBX.
  await env.receive("external", PHONE, buildResponse(b, 200, "OK"));
  const ok = env.take();
  assert.equal(ok.length, 1);
  const o = assertTo(ok[0], "internal", PBX).msg;
  assert.equal(o.status, 200);
  assert.equal(o.vias.length, 1);
  assert.equal(o.vias[0]!.branch, "z9hG4bKpbxbye");
  env.finish();
});

Deno.test("ProxyCore answers a CANCEL, cancels downstream once 180 arrives, and forwards the 487", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  await env.receive(
    "external",
    PHONE,
    sip([
      "CANCEL sip:100@127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKphone1;rport",
      "Max-Forwards: 70",
      'From: "Alice" <sip:alice@127.0.1.1>;tag=a1',
      "To: <sip:100@127.0.1.1>",
      "Call-ID: call1@10.0.0.5",
      "CSeq: 1 CANCEL",
    ]),
  );
  const [cancelOk, ...none] = env.take();
  const c = assertTo(cancelOk, "external", PHONE).msg;
  assert.equal(c.status, 200);
  assert.equal(c.method, "CANCEL");
  assert.deepEqual(none, [], "no CANCEL downstream before a provisional (RFC 3261 §9.1)");
  await env.receive("internal", PBX, answer(req, 180, "Ringing"));
  const afterRing = env.take();
  const cancel = afterRing.find((s) => s.msg.method === "CANCEL" && s.msg.kind === "request");
  const down = assertTo(cancel, "internal", PBX).msg;
  assert.equal(down.vias[0]!.branch, req.vias[0]!.branch);
  assert.equal(down.uri, req.uri);
  assert.deepEqual(down.cseq, { seq: 1, method: "CANCEL" });
  await env.receive("internal", PBX, buildResponse(down, 200, "OK", { toTag: "pbx1" }));
  const terminatedText = answer(req, 487, "Request Terminated");
  await env.receive("internal", PBX, terminatedText);
  const after487 = env.take();
  const ackDown = after487.find((s) => s.msg.method === "ACK");
  assert.equal(assertTo(ackDown, "internal", PBX).msg.vias[0]!.branch, req.vias[0]!.branch);
  const up = after487.find((s) => s.msg.status === 487);
  assert.equal(assertTo(up, "external", PHONE).msg.vias.length, 1);
  // The caller's ACK for the 487 ends at us.
  await env.receive(
    "external",
    PHONE,
    sip([
      "ACK sip:100@127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKphone1;rport",
      "Max-Forwards: 70",
      'From: "Alice" <sip:alice@127.0.1.1>;tag=a1',
      "To: <sip:100@127.0.1.1>;tag=pbx1",
      "Call-ID: call1@10.0.0.5",
      "CSeq: 1 ACK",
    ]),
  );
  assert.deepEqual(env.take(), []);
  env.finish();
});

Deno.test("ProxyCore answers a CANCEL for an unknown INVITE with 481", async () => {
  const env = coreEnv();
  await env.receive(
    "external",
    PHONE,
    sip([
      "CANCEL sip:100@127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKnone;rport",
      "Max-Forwards: 70",
      "From: <sip:alice@127.0.1.1>;tag=a1",
      "To: <sip:100@127.0.1.1>",
      "Call-ID: nothing@10.0.0.5",
      "CSeq: 1 CANCEL",
    ]),
  );
  const [r, ...rest] = env.take();
  assert.equal(assertTo(r, "external", PHONE).msg.status, 481);
  assert.deepEqual(rest, []);
  env.finish();
});

Deno.test("ProxyCore ACKs a 486 from the PBX itself, forwards the 486, and absorbs the caller's ACK", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  const busy = answer(req, 486, "Busy Here");
  await env.receive("internal", PBX, busy);
  const out = env.take();
  assert.equal(out.length, 2);
  const ack = out.find((s) => s.msg.method === "ACK")!;
  const a = assertTo(ack, "internal", PBX).msg;
  assert.equal(a.vias[0]!.branch, req.vias[0]!.branch);
  assert.equal(a.toTag, "pbx1");
  assert.deepEqual(a.cseq, { seq: 1, method: "ACK" });
  const up = assertTo(out.find((s) => s.msg.status === 486), "external", PHONE).msg;
  assert.equal(up.vias.length, 1);
  assert.equal(up.toTag, "pbx1");
  // A retransmitted 486 from the PBX is ACKed again and not forwarded again.
  await env.receive("internal", PBX, busy);
  const again = env.take();
  assert.equal(again.length, 1);
  assert.equal(again[0]!.msg.method, "ACK");
  await env.receive(
    "external",
    PHONE,
    sip([
      "ACK sip:100@127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKphone1;rport",
      "Max-Forwards: 70",
      'From: "Alice" <sip:alice@127.0.1.1>;tag=a1',
      "To: <sip:100@127.0.1.1>;tag=pbx1",
      "Call-ID: call1@10.0.0.5",
      "CSeq: 1 ACK",
    ]),
  );
  assert.deepEqual(env.take(), [], "the caller's ACK is absorbed");
  // Nothing is retransmitted to the caller after its ACK.
  env.clock.advance(TIMER.H);
  assert.deepEqual(env.take(), []);
  env.finish();
});

Deno.test("ProxyCore answers 408 upstream when the PBX never answers within pbx.reply_timeout", async () => {
  const env = coreEnv();
  await callToPbx(env);
  // Timer B cut to pbx.reply_timeout (Kamailio's fr_timer): 5 s by default, not 64*T1.
  const replyMs = env.core.config.pbx.replyTimeout * 1000;
  assert.ok(replyMs < TIMER.B);
  env.clock.advance(replyMs - 1);
  const retransmitted = env.take();
  assert.equal(retransmitted.length, 3, "Timer A retransmissions to the PBX (0.5, 1.5, 3.5 s)");
  assert.ok(retransmitted.every((s) => s.msg.method === "INVITE" && s.target.side === "internal"));
  env.clock.advance(1);
  const [timeout, ...rest] = env.take();
  const t = assertTo(timeout, "external", PHONE).msg;
  assert.equal(t.status, 408);
  assert.ok(t.toTag, "a To tag of our own");
  assert.deepEqual(rest, []);
  assert.equal(env.core.counters.timeouts, 1);
  env.core.close();
  assert.equal(env.clock.pending, 0);
});

Deno.test("ProxyCore answers 483 to a request with Max-Forwards 0", async () => {
  const env = coreEnv();
  await env.receive("external", PHONE, request("INVITE", { host: PHONE_PRIVATE, mf: 0 }));
  const out = env.take();
  assert.deepEqual(out.map((s) => s.msg.status), [100, 483]);
  assertTo(out[1], "external", PHONE);
  assert.equal(out[1]!.msg.reason, "Too Many Hops");
  env.finish();
});

Deno.test("ProxyCore answers OPTIONS addressed to itself with 200", async () => {
  const env = coreEnv();
  await env.receive(
    "external",
    PHONE,
    sip([
      "OPTIONS sip:127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKopt1;rport",
      "Max-Forwards: 70",
      "From: <sip:ping@10.0.0.5>;tag=p1",
      "To: <sip:127.0.1.1>",
      "Call-ID: ping1@10.0.0.5",
      "CSeq: 1 OPTIONS",
    ]),
  );
  const [r, ...rest] = env.take();
  const m = assertTo(r, "external", PHONE).msg;
  assert.equal(m.status, 200);
  assert.ok(m.toTag);
  assert.ok(getHeader(m, "allow")?.includes("INVITE"));
  assert.deepEqual(rest, []);
  env.finish();
});

Deno.test("ProxyCore adds a Path entry with received= to a REGISTER from outside and forwards it to the PBX", async () => {
  const env = coreEnv();
  const register = (proto: SipProto) =>
    sip([
      "REGISTER sip:127.0.1.1 SIP/2.0",
      `Via: SIP/2.0/${proto.toUpperCase()} 10.0.0.5:5062;branch=z9hG4bKreg${proto};rport`,
      "Max-Forwards: 70",
      "From: <sip:alice@127.0.1.1>;tag=r1",
      "To: <sip:alice@127.0.1.1>",
      `Call-ID: reg-${proto}@10.0.0.5`,
      "CSeq: 1 REGISTER",
      "Contact: <sip:alice@10.0.0.5:5062>",
      "Supported: path",
      "Expires: 3600",
    ]);
  await env.receive("external", PHONE, register("udp"));
  const [fwd, ...rest] = env.take();
  assert.deepEqual(rest, [], "no 100 for non-INVITE");
  const req = assertTo(fwd, "internal", PBX).msg;
  assert.equal(req.method, "REGISTER");
  assert.deepEqual(getHeaderValues(req, "path"), [
    "<sip:127.0.2.1:5060;lr;received=sip:192.0.2.50:5062>",
  ]);
  assert.deepEqual(getHeaderValues(req, "record-route"), []);
  await env.receive("internal", PBX, buildResponse(req, 200, "OK", { toTag: "reg1" }));
  const ok = env.take();
  assert.equal(assertTo(ok[0], "external", PHONE).msg.status, 200);

  // Over TCP the transport goes into received=, escaped as a parameter value.
  await env.receive("external", PHONE, register("tcp"), "tcp");
  const tcp = assertTo(env.take()[0], "internal", PBX).msg;
  assert.deepEqual(getHeaderValues(tcp, "path"), [
    "<sip:127.0.2.1:5060;lr;received=sip:192.0.2.50:5062%3Btransport%3Dtcp>",
  ]);
  env.core.close();
  assert.equal(env.clock.pending, 0);
});

Deno.test("ProxyCore sends a request from the PBX to the received address of its Path route", async () => {
  const env = coreEnv();
  await env.receive(
    "internal",
    PBX,
    sip([
      "INVITE sip:alice@10.0.0.5:5062 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxinv",
      "Route: <sip:127.0.2.1:5060;lr;received=sip:192.0.2.50:5062>",
      "Max-Forwards: 70",
      "From: <sip:100@127.0.2.10>;tag=p1",
      "To: <sip:alice@127.0.1.1>",
      "Call-ID: path1@127.0.2.10",
      "CSeq: 1 INVITE",
    ]),
  );
  const out = env.take();
  assert.equal(out[0]!.msg.status, 100);
  const req = assertTo(out[1], "external", PHONE).msg;
  assert.equal(req.uri, "sip:alice@10.0.0.5:5062");
  assert.deepEqual(getHeaderValues(req, "route"), []);
  env.core.close();
  assert.equal(env.clock.pending, 0);
});

Deno.test("ProxyCore forwards an initial INVITE from the PBX to its Request-URI out of the external side", async () => {
  const env = coreEnv();
  await env.receive(
    "internal",
    PBX,
    sip([
      "INVITE sip:bob@198.51.100.7:5070 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxout",
      "Max-Forwards: 70",
      "From: <sip:100@127.0.2.10>;tag=p1",
      "To: <sip:bob@198.51.100.7>",
      "Call-ID: out1@127.0.2.10",
      "CSeq: 1 INVITE",
      "Contact: <sip:100@127.0.2.10:5060>",
    ]),
  );
  const [trying, fwd, ...rest] = env.take();
  assert.equal(assertTo(trying, "internal", PBX).msg.status, 100);
  assert.deepEqual(rest, []);
  const req = assertTo(fwd, "external", { host: "198.51.100.7", port: 5070 }).msg;
  assert.equal(req.uri, "sip:bob@198.51.100.7:5070");
  assert.equal(req.vias[0]!.host, "127.0.1.1");
  assert.equal(req.maxForwards, 69);
  // Crossing the other way, topology hidden: the external-facing entry only.
  assert.deepEqual(getHeaderValues(req, "record-route"), [EXT_RR]);
  env.core.close();
  assert.equal(env.clock.pending, 0);
});

Deno.test("ProxyCore answers 400 to a malformed request whose reply headers are readable", async () => {
  const env = coreEnv();
  const text = sip([
    "INVITE sip:100@127.0.1.1 SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKbad1;rport",
    "Max-Forwards: lots",
    "From: <sip:alice@127.0.1.1>;tag=a1",
    "To: <sip:100@127.0.1.1>",
    "Call-ID: bad1@10.0.0.5",
    "CSeq: 1 INVITE",
  ]);
  await env.receive("external", PHONE, text);
  const [r, ...rest] = env.take();
  const m = assertTo(r, "external", PHONE).msg;
  assert.equal(m.status, 400);
  assert.match(m.reason, /Max-Forwards/);
  assert.ok(m.toTag, "a To tag (RFC 3261 §8.2.6.2)");
  assert.deepEqual(rest, []);
  assert.equal(env.core.counters.parseErrors, 1);
  env.finish();
});

Deno.test("ProxyCore drops garbage without answering or throwing", async () => {
  const env = coreEnv();
  for (
    const junk of [
      "",
      "\r\n\r\n",
      "hello world",
      "SIP/2.0 200\r\n\r\n",
      "INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n",
      "\x00\x01\x02\xff",
    ]
  ) {
    await env.receive("external", PHONE, junk);
  }
  // A response matching nothing is dropped as well.
  await env.receive(
    "internal",
    PBX,
    sip([
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP 127.0.2.1:5060;branch=z9hG4bKunknown",
      "From: <sip:a@b>;tag=1",
      "To: <sip:c@d>;tag=2",
      "Call-ID: x",
      "CSeq: 1 OPTIONS",
    ]),
  );
  assert.deepEqual(env.take(), []);
  env.finish();
});

Deno.test("ProxyCore answers 404 to an in-dialog request not routed through it", async () => {
  const env = coreEnv();
  await env.receive(
    "external",
    PHONE,
    sip([
      "BYE sip:100@127.0.2.10:5060 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKbye9;rport",
      "Max-Forwards: 70",
      "From: <sip:alice@127.0.1.1>;tag=a1",
      "To: <sip:100@127.0.1.1>;tag=pbx1",
      "Call-ID: stray@10.0.0.5",
      "CSeq: 2 BYE",
    ]),
  );
  const [r, ...rest] = env.take();
  const m = assertTo(r, "external", PHONE).msg;
  assert.equal(m.status, 404);
  assert.deepEqual(rest, []);
  // An ACK in the same situation is dropped silently.
  await env.receive(
    "external",
    PHONE,
    sip([
      "ACK sip:100@127.0.2.10:5060 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKack9;rport",
      "Max-Forwards: 70",
      "From: <sip:alice@127.0.1.1>;tag=a1",
      "To: <sip:100@127.0.1.1>;tag=pbx1",
      "Call-ID: stray@10.0.0.5",
      "CSeq: 2 ACK",
    ]),
  );
  assert.deepEqual(env.take(), []);
  env.finish();
});

Deno.test("ProxyCore answers 503 to a new INVITE while draining", async () => {
  const env = coreEnv();
  env.core.drain();
  await env.receive("external", PHONE, request("INVITE", { host: PHONE_PRIVATE }));
  assert.deepEqual(env.take().map((s) => s.msg.status), [100, 503]);
  env.finish();
});

Deno.test("ProxyCore absorbs a retransmitted INVITE by resending its 100", async () => {
  const env = coreEnv();
  await callToPbx(env);
  await env.receive("external", PHONE, request("INVITE", { host: PHONE_PRIVATE }));
  const [r, ...rest] = env.take();
  assert.equal(assertTo(r, "external", PHONE).msg.status, 100);
  assert.deepEqual(rest, [], "not forwarded again");
  env.core.close();
  assert.equal(env.clock.pending, 0);
});

Deno.test("ProxyCore answers 487 when a CANCEL arrives before the INVITE was relayed", async () => {
  const env = coreEnv();
  // Both arrive before routing the INVITE has finished (it awaits address resolution).
  env.core.receive(inbound("external", PHONE, request("INVITE", { host: PHONE_PRIVATE })));
  env.core.receive(inbound(
    "external",
    PHONE,
    sip([
      "CANCEL sip:100@127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKphone1;rport",
      "Max-Forwards: 70",
      'From: "Alice" <sip:alice@127.0.1.1>;tag=a1',
      "To: <sip:100@127.0.1.1>",
      "Call-ID: call1@10.0.0.5",
      "CSeq: 1 CANCEL",
    ]),
  ));
  await settle();
  const out = env.take();
  assert.deepEqual(out.map((s) => `${s.msg.status} ${s.msg.method}`), [
    "100 INVITE",
    "200 CANCEL",
    "487 INVITE",
  ]);
  assert.ok(out.every((s) => s.target.side === "external"), "nothing went to the PBX");
  env.core.close();
  assert.equal(env.clock.pending, 0);
});

Deno.test("ProxyCore answers 408 and CANCELs the PBX when a ringing call gets no final answer (pbx.ring_timeout)", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  await env.receive("internal", PBX, answer(req, 180, "Ringing"));
  env.take();
  // Timer C as Kamailio's fr_inv_timer: pbx.ring_timeout, 120 s by default.
  env.clock.advance(env.core.config.pbx.ringTimeout * 1000 - 1);
  assert.deepEqual(env.take(), []);
  env.clock.advance(1);
  const out = env.take();
  const cancel = out.find((s) => s.msg.method === "CANCEL");
  assert.equal(assertTo(cancel, "internal", PBX).msg.vias[0]!.branch, req.vias[0]!.branch);
  const timeout = out.find((s) => s.msg.kind === "response");
  assert.equal(assertTo(timeout, "external", PHONE).msg.status, 408);
  // The PBX's 487 is ACKed and not forwarded (the caller already has its 408).
  await env.receive("internal", PBX, answer(req, 487, "Request Terminated"));
  const after = env.take();
  assert.deepEqual(after.map((s) => s.msg.method + (s.msg.status ? ` ${s.msg.status}` : "")), [
    "ACK",
  ]);
  env.core.close();
  assert.equal(env.clock.pending, 0);
});

Deno.test("ProxyCore forwards a 2xx retransmission statelessly after its transaction ended", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  const ok = answer(req, 200, "OK");
  await env.receive("internal", PBX, ok);
  env.take();
  env.clock.advance(TIMER.M);
  assert.deepEqual(env.core.transactions, { server: 0, client: 0 });
  await env.receive("internal", PBX, ok);
  const [r, ...rest] = env.take();
  // Sent to the received/rport address of the caller's Via.
  const m = assertTo(r, "external", PHONE).msg;
  assert.equal(m.status, 200);
  assert.equal(m.vias.length, 1);
  assert.deepEqual(rest, []);
  env.finish();
});

Deno.test("ProxyCore drops a 2xx that looks like ours but answers no INVITE it forwarded", async () => {
  const env = coreEnv();
  // An outsider forges a 200 whose top Via names the SBC with a branch of our shape, and whose
  // next Via names a host inside: it must not be sent anywhere (RFC 3261 §16.7 step 5 is for
  // retransmissions of 2xx to INVITEs this proxy forwarded).
  const forged = sip([
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bKes0forged",
    "Via: SIP/2.0/UDP 127.0.2.99:5060;branch=z9hG4bKvictim",
    "From: <sip:a@example.com>;tag=1",
    "To: <sip:b@example.com>;tag=2",
    "Call-ID: forged@example.com",
    "CSeq: 1 INVITE",
  ], "v=0\r\n");
  await env.receive("external", PHONE, forged);
  await env.receive("internal", PBX, forged);
  assert.deepEqual(env.take(), []);
  env.finish();
});

Deno.test("ProxyCore sends a late 2xx retransmission to the caller, whatever its Via says", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  const ok = answer(req, 200, "OK");
  await env.receive("internal", PBX, ok);
  env.take();
  env.clock.advance(TIMER.M);
  assert.deepEqual(env.core.transactions, { server: 0, client: 0 });
  // The second Via rewritten towards a host inside: the copy still goes to the caller.
  const tampered = ok.replace(
    /^(Via: [^\r]*\r\n)Via: [^\r]*/m,
    "$1Via: SIP/2.0/UDP 127.0.2.99:5060;branch=z9hG4bKx",
  );
  assert.notEqual(tampered, ok);
  await env.receive("internal", PBX, tampered);
  const [r, ...rest] = env.take();
  assertTo(r, "external", PHONE);
  assert.deepEqual(rest, []);
  // Once 64*T1 have passed since the first 2xx, nothing is forwarded any more.
  env.clock.advance(TIMER.B);
  await env.receive("internal", PBX, ok);
  assert.deepEqual(env.take(), []);
  env.finish();
});

Deno.test("ProxyCore sends the PBX an initial request from outside without the Route set it brought", async () => {
  // A pre-loaded Route towards a host inside: a PBX that proxies on Route would follow it.
  const env = coreEnv();
  await env.receive(
    "external",
    PHONE,
    request("INVITE", {
      extra: [
        "Route: <sip:127.0.1.1:5060;lr>, <sip:127.0.2.99:5060;lr>",
        "Route: <sip:10.9.9.9;lr>",
      ],
    }),
  );
  const [, fwd, ...rest] = env.take();
  assert.deepEqual(rest, []);
  assertTo(fwd, "internal", PBX);
  assert.deepEqual(getHeaderValues(fwd!.msg, "route"), []);
  env.finish();
});

const IDENTITY = [
  "P-Asserted-Identity: <sip:ceo@pbx.example.com>",
  "P-Preferred-Identity: <sip:ceo@pbx.example.com>",
  "Remote-Party-ID: <sip:ceo@pbx.example.com>;party=calling",
];
const IDENTITY_HEADERS = ["p-asserted-identity", "p-preferred-identity", "remote-party-id"];

Deno.test("ProxyCore removes identity headers from an untrusted outside source (RFC 3325 §5)", async () => {
  const env = coreEnv();
  await env.receive("external", PHONE, request("INVITE", { extra: IDENTITY }));
  const [, fwd] = env.take();
  assertTo(fwd, "internal", PBX);
  for (const name of IDENTITY_HEADERS) assert.equal(getHeader(fwd!.msg, name), undefined, name);
  env.finish();
});

Deno.test("ProxyCore passes identity headers from a trusted network and from the PBX", async () => {
  const config = loadConfig(
    DEFAULT_CONFIG_TOML.replace(/(\[interfaces\.internal\])/, 'trusted = ["192.0.2.0/24"]\n\n$1'),
    "<test>",
  );
  const env = coreEnv({ config });
  await env.receive("external", PHONE, request("INVITE", { extra: IDENTITY }));
  const [, fwd] = env.take();
  for (const name of IDENTITY_HEADERS) assert.ok(getHeader(fwd!.msg, name), name);
  env.finish();
  const fromPbx = coreEnv();
  await fromPbx.receive(
    "internal",
    PBX,
    request("INVITE", { uri: "sip:bob@203.0.113.9:5070", extra: IDENTITY }),
  );
  const [, out] = fromPbx.take();
  assertTo(out, "external", { host: "203.0.113.9", port: 5070 });
  for (const name of IDENTITY_HEADERS) assert.ok(getHeader(out!.msg, name), name);
  fromPbx.finish();
});

Deno.test("ProxyCore answers nothing to a source its interface denies, before parsing", async () => {
  const config = loadConfig(
    DEFAULT_CONFIG_TOML.replace(
      /(\[interfaces\.internal\])/,
      'deny = ["192.0.2.0/24"]\n\n$1',
    ),
    "<test>",
  );
  const env = coreEnv({ config });
  await env.receive("external", PHONE, request("INVITE"));
  await env.receive("external", PHONE, "garbage that would get a 400\r\n\r\n");
  assert.deepEqual(env.take(), [], "a denied source gets nothing back");
  assert.equal(env.core.counters.denied, 2);
  await env.receive(
    "external",
    { host: "198.51.100.7", port: 5060 },
    request("OPTIONS", { uri: "sip:127.0.1.1" }),
  );
  assert.equal(env.take()[0]?.msg.status, 200, "others are served");
  env.finish();
});

Deno.test("ProxyCore serves only the sources an interface allows, when it lists any", async () => {
  const config = loadConfig(
    DEFAULT_CONFIG_TOML.replace(
      /(\[interfaces\.internal\])/,
      'allow = ["198.51.100.0/24"]\n\n$1',
    ),
    "<test>",
  );
  const env = coreEnv({ config });
  await env.receive("external", PHONE, request("OPTIONS", { uri: "sip:127.0.1.1" }));
  assert.deepEqual(env.take(), []);
  await env.receive(
    "external",
    { host: "198.51.100.7", port: 5060 },
    request("OPTIONS", { uri: "sip:127.0.1.1" }),
  );
  assert.equal(env.take()[0]?.msg.status, 200);
  // The PBX's side lists nothing: it is served.
  await env.receive("internal", PBX, request("OPTIONS", { uri: "sip:127.0.2.1" }));
  assert.equal(env.take()[0]?.msg.status, 200);
  env.finish();
});

Deno.test("ProxyCore sends nothing by the external side towards an address the internal side owns", async () => {
  const base = defaultConfig();
  const network = parseCidr("127.0.2.0/24");
  assert.ok(network.ok);
  const config = { ...base, internal: { ...base.internal, networks: [network.value] } };
  const env = coreEnv({ config });
  // The PBX's BYE follows a Record-Route an outsider forged in its INVITE: an inside victim.
  await env.receive(
    "internal",
    PBX,
    sip([
      "BYE sip:alice@192.0.2.50:5062 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxbye",
      `Route: ${INT_RR}, ${EXT_RR}, <sip:127.0.2.99:5060;lr>`,
      "Max-Forwards: 70",
      "From: <sip:100@127.0.1.1>;tag=pbx1",
      'To: "Alice" <sip:alice@127.0.1.1>;tag=a1',
      "Call-ID: call1@10.0.0.5",
      "CSeq: 2 BYE",
    ]),
  );
  const out = env.take();
  assert.deepEqual(out.filter((s) => s.target.side === "external"), []);
  // The PBX hears that its request failed.
  assert.deepEqual(out.map((s) => [s.target.dest, s.msg.status]), [[PBX, 408]]);
  assert.equal(env.core.counters.boundary, 1);
  env.finish();
});

let inDialogBranch = 0;

/** An in-dialog request from the phone naming `uri` and `routes`, in the call of `callToPbx`. */
function inDialogFromPhone(
  method: string,
  options: { uri: string; routes: string; callId?: string; toTag?: string; body?: string },
): string {
  return sip([
    `${method} ${options.uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKin${++inDialogBranch};rport`,
    ...(options.routes === "" ? [] : [`Route: ${options.routes}`]),
    "Max-Forwards: 70",
    'From: "Alice" <sip:alice@example.com>;tag=a1',
    `To: <sip:100@127.0.1.1>;tag=${options.toTag ?? "pbx1"}`,
    `Call-ID: ${options.callId ?? "call1@10.0.0.5"}`,
    `CSeq: 5 ${method}`,
    ...(options.body ? ["Content-Type: application/sdp"] : []),
  ], options.body ?? "");
}

Deno.test("ProxyCore sends an outsider's in-dialog requests only to the PBX target it recorded", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  await env.receive("internal", PBX, answer(req, 200, "OK"));
  env.take();
  assert.equal(env.core.dialogs, 1);
  const victim = "<sip:127.0.2.99:5060;lr>";
  // The Request-URI, a Route after ours, a Route naming only our inside, a Path `received=`,
  // TCP: each names a victim inside; each request goes to the PBX's Contact instead.
  for (
    const [method, uri, routes] of [
      ["INFO", "sip:victim@127.0.2.99:5060", EXT_RR],
      ["BYE", "sip:100@127.0.2.10:5060", `${EXT_RR}, ${victim}`],
      ["INFO", "sip:victim@127.0.2.99:5060;transport=tcp", INT_RR],
      ["INVITE", "sip:100@127.0.2.10", `<sip:127.0.1.1:5060;lr;received=sip:127.0.2.99:5060>`],
      ["ACK", "sip:victim@127.0.2.99", `${EXT_RR}, ${victim}`],
    ]
  ) {
    await env.receive(
      "external",
      PHONE,
      inDialogFromPhone(method!, { uri: uri!, routes: routes! }),
    );
    const out = env.take().filter((s) => s.target.side === "internal");
    assert.equal(out.length, 1, `${method} ${uri} ${routes}`);
    const m = assertTo(out[0], "internal", PBX).msg;
    assert.equal(m.uri, "sip:100@127.0.2.10:5060");
    assert.deepEqual(getHeaderValues(m, "route"), []);
  }
  env.finish();
});

Deno.test("ProxyCore refuses an in-dialog request from outside that matches no dialog of ours", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  await env.receive("internal", PBX, answer(req, 200, "OK"));
  env.take();
  // A wrong To tag, a wrong Call-ID: 404, nothing inside; an ACK with a body: dropped.
  for (const options of [{ toTag: "guess" }, { callId: "other@10.0.0.5" }]) {
    await env.receive(
      "external",
      PHONE,
      inDialogFromPhone("BYE", { uri: "sip:100@127.0.2.10:5060", routes: EXT_RR, ...options }),
    );
    const out = env.take();
    assert.deepEqual(out.map((s) => [s.target.side, s.msg.status]), [["external", 404]]);
  }
  await env.receive(
    "external",
    PHONE,
    inDialogFromPhone("ACK", {
      uri: "sip:victim@127.0.2.99",
      routes: EXT_RR,
      toTag: "guess",
      body: "v=0\r\n",
    }),
  );
  assert.deepEqual(env.take(), []);
  assert.equal(env.core.counters.noDialog, 3);
  env.finish();
});

Deno.test("ProxyCore forgets a dialog after its BYE, and an early one when the call fails", async () => {
  const env = coreEnv();
  const req = await callToPbx(env);
  await env.receive("internal", PBX, answer(req, 180, "Ringing"));
  assert.equal(env.core.dialogs, 1);
  await env.receive("internal", PBX, answer(req, 486, "Busy Here"));
  assert.equal(env.core.dialogs, 0);
  // The caller's ACK to the 486 completes that transaction; the next call is a new one.
  await env.receive("external", PHONE, request("ACK", { host: PHONE_PRIVATE }));
  env.take();
  await env.receive(
    "external",
    PHONE,
    request("INVITE", { host: PHONE_PRIVATE, branch: "z9hG4bKcall2", cseq: 2 }),
  );
  const req2 = env.take()[1]!.msg;
  await env.receive("internal", PBX, answer(req2, 200, "OK"));
  await env.receive(
    "external",
    PHONE,
    inDialogFromPhone("BYE", { uri: "sip:100@127.0.2.10:5060", routes: EXT_RR }),
  );
  env.take();
  assert.equal(env.core.dialogs, 1); // ending: kept for retransmissions
  env.clock.advance(TIMER.B);
  assert.equal(env.core.dialogs, 0);
  env.take(); // the unanswered BYE's retransmissions and its 408
  await env.receive(
    "external",
    PHONE,
    inDialogFromPhone("INFO", { uri: "sip:100@127.0.2.10:5060", routes: EXT_RR }),
  );
  assert.deepEqual(env.take().map((s) => s.msg.status), [404]);
  env.finish();
});

Deno.test("ProxyCore drops, unanswered, a message on the external side from an address the inside owns", async () => {
  const env = coreEnv();
  // Spoofed as the PBX, arriving from outside: answering would send to the PBX by the outside.
  await env.receive("external", PBX, request("INVITE"));
  assert.deepEqual(env.take(), []);
  assert.equal(env.core.counters.denied, 1);
  env.finish();
});

Deno.test("ProxyCore bans an outside address past sip.rate_limit, drops it unparsed, and spares trusted ones", async () => {
  const base = defaultConfig();
  const trusted = parseCidr("198.51.100.0/24");
  assert.ok(trusted.ok);
  const config = {
    ...base,
    sip: { ...base.sip, rateLimit: 5, banTime: 60 },
    external: { ...base.external, trusted: [trusted.value] },
  };
  const env = coreEnv({ config });
  const options = (i: number) =>
    request("OPTIONS", { branch: `z9hG4bKrate${i}`, callId: `rate${i}` });
  for (let i = 0; i < 20; i++) await env.receive("external", PHONE, options(i));
  // Five relayed to the PBX, then nothing: the address is banned.
  assert.equal(env.take().filter((s) => s.target.side === "internal").length, 5);
  assert.equal(env.core.counters.bans, 1);
  assert.equal(env.core.counters.rateLimited, 15);
  // Still banned a second later; a trusted carrier at the same rate passes.
  env.clock.advance(1000);
  await env.receive("external", PHONE, options(99));
  assert.deepEqual(env.take().filter((s) => s.msg.callId === "rate99"), []);
  const carrier = { host: "198.51.100.7", port: 5060 };
  for (let i = 0; i < 20; i++) await env.receive("external", carrier, options(100 + i));
  const fromCarrier = env.take().filter((s) => s.target.side === "internal" && s.msg.method);
  assert.equal(new Set(fromCarrier.map((s) => s.msg.callId)).size, 20);
  // The ban ends.
  env.clock.advance(60_000);
  await env.receive("external", PHONE, options(200));
  assert.equal(env.take().filter((s) => s.msg.callId === "rate200").length, 1);
  env.finish();
});

Deno.test("ProxyCore answers 503 at once to a new request past sip.max_transactions", async () => {
  const base = defaultConfig();
  const env = coreEnv({ config: { ...base, sip: { ...base.sip, maxTransactions: 100 } } });
  // A hundred INVITEs the PBX does not answer yet: a hundred transactions alive.
  for (let i = 0; i < 100; i++) {
    await env.receive(
      "external",
      PHONE,
      request("INVITE", { branch: `z9hG4bKmax${i}`, callId: `max${i}` }),
    );
  }
  env.take();
  await env.receive(
    "external",
    PHONE,
    request("INVITE", { branch: "z9hG4bKmaxX", callId: "maxX" }),
  );
  assert.deepEqual(env.take().map((s) => [s.target.side, s.msg.status]), [["external", 503]]);
  assert.equal(env.core.counters.overloaded, 1);
  env.finish();
});

Deno.test("ProxyCore answers 503 to an outside address past sip.max_transactions_per_source, not to others", async () => {
  const base = defaultConfig();
  const env = coreEnv({ config: { ...base, sip: { ...base.sip, maxTransactionsPerSource: 10 } } });
  for (let i = 0; i < 10; i++) {
    await env.receive(
      "external",
      PHONE,
      request("INVITE", { branch: `z9hG4bKsrc${i}`, callId: `src${i}` }),
    );
  }
  env.take();
  await env.receive(
    "external",
    PHONE,
    request("INVITE", { branch: "z9hG4bKsrcX", callId: "srcX" }),
  );
  assert.deepEqual(env.take().map((s) => s.msg.status), [503]);
  const other = { host: "192.0.2.51", port: 5062 };
  await env.receive(
    "external",
    other,
    request("INVITE", { branch: "z9hG4bKother", callId: "other" }),
  );
  assert.deepEqual(
    env.take().map((s) => s.target.side),
    ["external", "internal"],
    "100, and the INVITE on to the PBX",
  );
  env.finish();
});

Deno.test("ProxyCore pings a phone registered from behind NAT until it stops answering, and not one that is not", async () => {
  const base = defaultConfig();
  const env = coreEnv({ config: { ...base, external: { ...base.external, natPing: 30 } } });
  const register = (host: string, branch: string) =>
    request("REGISTER", { host, branch, callId: `reg-${branch}`, extra: ["Expires: 600"] });
  for (const [host, branch] of [[PHONE_PRIVATE, "z9hG4bKregnat"], [PHONE.host, "z9hG4bKregpub"]]) {
    await env.receive("external", PHONE, register(host!, branch!));
    const toPbx = env.take().find((s) => s.target.side === "internal")!.msg;
    await env.receive("internal", PBX, buildResponse(toPbx, 200, "OK"));
    env.take();
  }
  // Every 30 s an OPTIONS to where the NATed phone's SIP comes from, to its private Contact.
  env.clock.advance(30_000);
  const [ping, ...rest] = env.take();
  assert.deepEqual(rest, [], "the phone not behind NAT is not pinged");
  assert.deepEqual(ping!.target.dest, PHONE);
  assert.equal(ping!.msg.method, "OPTIONS");
  assert.equal(ping!.msg.uri, `sip:alice@${PHONE_PRIVATE}:5062`);
  // It answers: pinged again next time; then it falls silent: three misses and it is forgotten.
  await env.receive("external", PHONE, buildResponse(ping!.msg, 200, "OK"));
  assert.deepEqual(env.take(), [], "the answer goes nowhere");
  for (let i = 0; i < 3; i++) {
    env.clock.advance(30_000);
    assert.equal(env.take().length, 1, `ping ${i + 2}`);
  }
  env.clock.advance(30_000);
  assert.deepEqual(env.take(), [], "forgotten after three unanswered pings");
  env.finish();
});
