import assert from "node:assert/strict";
import { getHeader, getHeaderValues } from "../../../sbc/message/message.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { coreEnv, type Sent } from "../../kit/core_env.ts";
import { PBX, PHONE } from "../../kit/phone_and_pbx.ts";
import { sip } from "../../kit/sip_text.ts";
import { defaultConfig } from "../../../config/default.ts";
import { namesInside, outsideCallId, topologyHiding } from "../../../sbc/proxy/topology_hiding.ts";
import { parseCidr } from "../../../config/cidr.ts";

const INSIDE = /127\.0\.2\.|pbx\.internal/;

/** Asserts nothing in a message sent by the external side names an inside address. */
function assertHidden(s: Sent): void {
  assert.equal(s.target.side, "external");
  assert.doesNotMatch(s.text, INSIDE, s.text);
}

/** The PBX's INVITE to a phone outside, as a PBX with its own Record-Route writes it. */
const PBX_INVITE = sip([
  "INVITE sip:bob@192.0.2.50:5062 SIP/2.0",
  "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbxinv",
  "Via: SIP/2.0/UDP 127.0.2.20:5060;branch=z9hG4bKdeeper",
  "Record-Route: <sip:127.0.2.10:5060;lr>",
  "Max-Forwards: 70",
  'From: "Reception" <sip:100@127.0.2.10>;tag=pbxtag',
  "To: <sip:bob@192.0.2.50>",
  "Call-ID: abc123@127.0.2.10",
  "CSeq: 1 INVITE",
  "Contact: <sip:100@127.0.2.10:5060;transport=udp>;expires=60",
  "P-Asserted-Identity: <sip:100@127.0.2.10>",
  'Warning: 399 127.0.2.10 "internal note"',
  "X-Trunk-Host: pbx.internal",
  "User-Agent: PBX 9.1",
]);

Deno.test("topology hiding: a call from the PBX shows nothing of the inside, and maps back on the way in", async () => {
  // The PBX by name, the inside as a network: both are hidden.
  const base = defaultConfig();
  const inside = parseCidr("127.0.2.0/24");
  assert.ok(inside.ok);
  const config = {
    ...base,
    internal: { ...base.internal, networks: [inside.value] },
    pbx: {
      ...base.pbx,
      address: { ...base.pbx.address, host: "pbx.internal" },
      targets: [{ address: { ...base.pbx.address, host: "pbx.internal" }, priority: 1, weight: 1 }],
    },
  };
  const env = coreEnv({ config });
  await env.receive("internal", PBX, PBX_INVITE);
  const [trying, fwd] = env.take();
  assert.equal(trying!.msg.status, 100);
  assertHidden(fwd!);
  const out = fwd!.msg;
  assert.deepEqual(getHeaderValues(out, "record-route"), ["<sip:127.0.1.1:5060;lr>"]);
  assert.equal(out.vias.length, 1);
  assert.equal(getHeader(out, "contact"), "<sip:100@127.0.1.1:5060>;expires=60");
  assert.equal(getHeader(out, "from"), '"Reception" <sip:100@127.0.1.1>;tag=pbxtag');
  assert.equal(getHeader(out, "p-asserted-identity"), "<sip:100@127.0.1.1>");
  assert.equal(getHeader(out, "user-agent"), undefined);
  assert.equal(getHeader(out, "warning"), undefined);
  assert.equal(getHeader(out, "x-trunk-host"), undefined);
  assert.notEqual(out.callId, "abc123@127.0.2.10");

  // The phone answers with what it saw; the PBX gets its own Vias, Call-ID, From and To back.
  await env.receive(
    "external",
    PHONE,
    buildResponse(out, 200, "OK", {
      toTag: "bobtag",
      headers: [
        ["Record-Route", "<sip:127.0.1.1:5060;lr>"],
        ["Contact", "<sip:bob@192.0.2.50:5062>"],
      ],
    }),
  );
  const [ok] = env.take();
  assert.equal(ok!.target.side, "internal");
  assert.deepEqual(ok!.msg.vias.map((v) => v.branch), ["z9hG4bKpbxinv", "z9hG4bKdeeper"]);
  assert.equal(ok!.msg.callId, "abc123@127.0.2.10");
  assert.equal(getHeader(ok!.msg, "from"), '"Reception" <sip:100@127.0.2.10>;tag=pbxtag');
  assert.equal(getHeader(ok!.msg, "to"), "<sip:bob@192.0.2.50>;tag=bobtag");

  // The phone's BYE, as it knows the dialog, reaches the PBX as the PBX knows it.
  await env.receive(
    "external",
    PHONE,
    sip([
      "BYE sip:100@127.0.1.1:5060 SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKbye1",
      "Route: <sip:127.0.1.1:5060;lr>",
      "Max-Forwards: 70",
      "From: <sip:bob@192.0.2.50>;tag=bobtag",
      '"To: "Reception" <sip:100@127.0.1.1>;tag=pbxtag'.slice(1),
      `Call-ID: ${out.callId}`,
      "CSeq: 2 BYE",
    ]),
  );
  const [bye] = env.take();
  assert.equal(bye!.target.side, "internal");
  assert.deepEqual(bye!.target.dest, PBX);
  assert.equal(bye!.msg.uri, "sip:100@127.0.2.10:5060;transport=udp");
  assert.deepEqual(getHeaderValues(bye!.msg, "route"), ["<sip:127.0.2.10:5060;lr>"]);
  assert.equal(bye!.msg.callId, "abc123@127.0.2.10");
  assert.equal(getHeader(bye!.msg, "to"), '"Reception" <sip:100@127.0.2.10>;tag=pbxtag');
  // The PBX's 200 goes back out as the phone knows the dialog.
  await env.receive("internal", PBX, buildResponse(bye!.msg, 200, "OK"));
  const [byeOk] = env.take();
  assertHidden(byeOk!);
  assert.equal(byeOk!.msg.callId, out.callId);
  assert.deepEqual(byeOk!.msg.vias.map((v) => v.branch), ["z9hG4bKbye1"]);
  env.finish();
});

Deno.test("topology hiding: the PBX's answers to a call from outside show one Record-Route and our Contact", async () => {
  const env = coreEnv();
  await env.receive(
    "external",
    PHONE,
    sip([
      "INVITE sip:100@127.0.1.1 SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKin1;rport",
      "Max-Forwards: 70",
      "From: <sip:alice@example.com>;tag=a1",
      "To: <sip:100@127.0.1.1>",
      "Call-ID: out1@192.0.2.50",
      "CSeq: 1 INVITE",
      "Contact: <sip:alice@192.0.2.50:5062>",
    ]),
  );
  const fwd = env.take()[1]!.msg;
  await env.receive(
    "internal",
    PBX,
    buildResponse(fwd, 200, "OK", {
      toTag: "pbx1",
      headers: [
        ["Record-Route", `<sip:127.0.2.10;lr>, ${getHeaderValues(fwd, "record-route").join(", ")}`],
        ["Contact", "<sip:100@127.0.2.10:5060>"],
        ["Server", "PBX 9.1"],
      ],
    }),
  );
  const [ok] = env.take();
  assertHidden(ok!);
  assert.deepEqual(getHeaderValues(ok!.msg, "record-route"), ["<sip:127.0.1.1:5060;lr>"]);
  assert.equal(getHeader(ok!.msg, "server"), undefined);
  env.finish();
});

Deno.test("topology hiding off: the inside shows as before", async () => {
  const base = defaultConfig();
  const config = { ...base, external: { ...base.external, topologyHiding: false } };
  const env = coreEnv({ config });
  await env.receive("internal", PBX, PBX_INVITE);
  const fwd = env.take()[1]!;
  assert.match(fwd.text, INSIDE);
  assert.equal(fwd.msg.callId, "abc123@127.0.2.10");
  env.core.close();
});

Deno.test("namesInside() finds inside addresses in any spelling, and the PBX by name", () => {
  const base = defaultConfig();
  const inside = parseCidr("10.0.0.0/8");
  assert.ok(inside.ok);
  const config = {
    ...base,
    internal: { ...base.internal, networks: [inside.value] },
    pbx: {
      ...base.pbx,
      address: { ...base.pbx.address, host: "pbx.corp.example" },
      targets: [{
        address: { ...base.pbx.address, host: "pbx.corp.example" },
        priority: 1,
        weight: 1,
      }],
    },
  };
  const env = coreEnv({ config });
  const hiding = topologyHiding(config, env.core.sides, env.core.networks)!;
  for (
    const text of [
      "sip:a@10.1.2.3",
      "x 127.0.2.1 y",
      "[::ffff:10.0.0.1]",
      "::ffff:a00:1",
      "010.1.1.1",
      "PBX.corp.example",
    ]
  ) {
    assert.equal(namesInside(hiding, text), true, text);
  }
  for (const text of ["sip:a@192.0.2.1", "11.0.0.1", "12:34:56", "2001:db8::1", "example.com"]) {
    assert.equal(namesInside(hiding, text), false, text);
  }
  assert.equal(outsideCallId(hiding, "abc@192.0.2.1"), "abc@192.0.2.1");
  const hidden = outsideCallId(hiding, "abc@10.0.0.7");
  assert.match(hidden, /^es[\w-]{24}$/);
  assert.equal(outsideCallId(hiding, "abc@10.0.0.7"), hidden, "the same every time");
  env.core.close();
});
