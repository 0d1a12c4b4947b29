import assert from "node:assert/strict";
import { defaultConfig } from "../../../config/default.ts";
import { localSides } from "../../../sbc/proxy/local_address.ts";
import { getHeaderValues } from "../../../sbc/message/message.ts";
import { type Edit, type SipMessage } from "../../../sbc/message/sip_message.ts";
import { parseVia } from "../../../sbc/message/header_codecs.ts";
import { serializeMessage } from "../../../sbc/message/serialize.ts";
import {
  looseRoute,
  maxForwardsEdit,
  newBranch,
  ourVia,
  receivedEdit,
  replyAddress,
  routeEntry,
  statelessBranch,
  viaAddress,
} from "../../../sbc/proxy/header_rules.ts";
import { MAGIC_COOKIE } from "../../../sbc/transaction/transaction.ts";
import { parse, sip } from "../../kit/sip_text.ts";

const sides = localSides(defaultConfig());

/** A request with the given start line and extra header lines, plus the mandatory ones. */
function request(startLine: string, headers: string[]): SipMessage {
  return parse(sip([
    startLine,
    ...headers,
    "From: <sip:alice@192.0.2.50>;tag=a1",
    "To: <sip:bob@198.51.100.7>",
    "Call-ID: c1@192.0.2.50",
    `CSeq: 1 ${startLine.split(" ")[0]}`,
  ]));
}

const VIA = "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKa1";

/** Applies edits and parses the result again. */
function apply(msg: SipMessage, edits: readonly Edit[]): SipMessage {
  return parse(serializeMessage(msg, edits));
}

Deno.test("receivedEdit() adds received and rport when the request asked for rport (RFC 3581 §4)", () => {
  // The example of RFC 3581 §4: a client behind NAT at 10.1.1.1:4540 seen as 192.0.2.1:9988.
  const msg = request("INVITE sip:bob@198.51.100.7 SIP/2.0", [
    "Via: SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKkjshdyff",
  ]);
  const edit = receivedEdit(msg, { host: "192.0.2.1", port: 9988 });
  assert.ok(edit);
  const via = apply(msg, [edit]).vias[0]!;
  assert.equal(via.host, "10.1.1.1");
  assert.equal(via.port, 4540);
  assert.equal(via.branch, "z9hG4bKkjshdyff");
  assert.deepEqual({ ...via.params }, {
    rport: "9988",
    branch: "z9hG4bKkjshdyff",
    received: "192.0.2.1",
  });
});

Deno.test("receivedEdit() adds received even for the same host when rport was asked for (RFC 3581 §4)", () => {
  const msg = request("INVITE sip:bob@198.51.100.7 SIP/2.0", [
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;rport",
  ]);
  const edit = receivedEdit(msg, { host: "192.0.2.1", port: 5060 });
  assert.ok(edit);
  const via = apply(msg, [edit]).vias[0]!;
  assert.equal(via.params.received, "192.0.2.1");
  assert.equal(via.params.rport, "5060");
});

Deno.test("receivedEdit() without rport adds received only when the source differs (RFC 3261 §18.2.1)", () => {
  const msg = request("INVITE sip:bob@198.51.100.7 SIP/2.0", [
    "Via: SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bKkjshdyff",
  ]);
  const edit = receivedEdit(msg, { host: "192.0.2.1", port: 9988 });
  assert.ok(edit);
  const via = apply(msg, [edit]).vias[0]!;
  assert.equal(via.params.received, "192.0.2.1");
  assert.equal("rport" in via.params, false);
  assert.equal(receivedEdit(msg, { host: "10.1.1.1", port: 4540 }), undefined);
});

Deno.test("receivedEdit() changes only the first entry of a comma-joined Via line", () => {
  const msg = request("INVITE sip:bob@198.51.100.7 SIP/2.0", [
    "Via: SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bK1, SIP/2.0/TCP 10.0.0.9;branch=z9hG4bK0",
    "Via: SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKz",
  ]);
  const edit = receivedEdit(msg, { host: "192.0.2.1", port: 9988 });
  assert.ok(edit && edit.op === "replace");
  assert.equal(edit.index, 0);
  const out = apply(msg, [edit]);
  assert.equal(out.vias.length, 3);
  assert.equal(out.vias[0]!.params.received, "192.0.2.1");
  assert.equal(out.vias[0]!.params.rport, "9988");
  assert.deepEqual(out.vias[1], parseVia("SIP/2.0/TCP 10.0.0.9;branch=z9hG4bK0")[0]);
  assert.deepEqual(out.vias[2], msg.vias[2]);
});

Deno.test("receivedEdit() returns undefined for a message without Via", () => {
  const msg = request("INVITE sip:bob@198.51.100.7 SIP/2.0", [VIA]);
  assert.equal(receivedEdit({ ...msg, vias: [] }, { host: "192.0.2.1", port: 1 }), undefined);
});

Deno.test("replyAddress() picks the source address with the Via or rport port (RFC 3261 §18.2.2, RFC 3581)", async (t) => {
  const source = { host: "192.0.2.1", port: 9988 };
  const via = (v: string) => parseVia(v)[0];
  await t.step("UDP without rport: source IP, sent-by port", () => {
    assert.deepEqual(
      replyAddress(via("SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bK1"), source, "udp"),
      {
        host: "192.0.2.1",
        port: 4540,
      },
    );
  });
  await t.step("UDP without a port: 5060", () => {
    assert.deepEqual(replyAddress(via("SIP/2.0/UDP 10.1.1.1;branch=z9hG4bK1"), source, "udp"), {
      host: "192.0.2.1",
      port: 5060,
    });
  });
  await t.step("UDP with rport: the source port", () => {
    assert.deepEqual(
      replyAddress(via("SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bK1"), source, "udp"),
      source,
    );
  });
  await t.step("TCP: the connection's source", () => {
    assert.deepEqual(
      replyAddress(via("SIP/2.0/TCP 10.1.1.1:4540;branch=z9hG4bK1"), source, "tcp"),
      source,
    );
  });
  await t.step("no Via: the source", () => {
    assert.deepEqual(replyAddress(undefined, source, "udp"), source);
  });
});

Deno.test("viaAddress() follows received and rport of the next Via down", () => {
  const [a, b, c] = parseVia(
    "SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bK1, " +
      "SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK2, SIP/2.0/TCP 198.51.100.8:5070;branch=z9hG4bK3",
  );
  assert.deepEqual(viaAddress(a!), { peer: { host: "192.0.2.1", port: 9988 }, proto: "udp" });
  assert.deepEqual(viaAddress(b!), { peer: { host: "198.51.100.7", port: 5060 }, proto: "udp" });
  assert.deepEqual(viaAddress(c!), { peer: { host: "198.51.100.8", port: 5070 }, proto: "tcp" });
});

Deno.test("ourVia() and routeEntry() name the side a request leaves by", () => {
  assert.equal(
    ourVia(sides.internal, "udp", "z9hG4bKx"),
    "SIP/2.0/UDP 127.0.2.1:5060;branch=z9hG4bKx",
  );
  assert.equal(
    ourVia(sides.external, "tcp", "z9hG4bKy"),
    "SIP/2.0/TCP 127.0.1.1:5060;branch=z9hG4bKy",
  );
  assert.equal(routeEntry(sides.external, "udp"), "<sip:127.0.1.1:5060;lr>");
  assert.equal(routeEntry(sides.internal, "tcp"), "<sip:127.0.2.1:5060;transport=tcp;lr>");
});

Deno.test("newBranch() is unique and starts with the magic cookie; statelessBranch() is stable", () => {
  const a = newBranch();
  const b = newBranch();
  assert.notEqual(a, b);
  assert.ok(a.startsWith(MAGIC_COOKIE));
  const ack = request("ACK sip:bob@198.51.100.7 SIP/2.0", [VIA]);
  const again = request("ACK sip:bob@198.51.100.7 SIP/2.0", [VIA]);
  assert.equal(statelessBranch(ack), statelessBranch(again));
  assert.ok(statelessBranch(ack).startsWith(MAGIC_COOKIE));
  const other = request("ACK sip:bob@198.51.100.7 SIP/2.0", [
    "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKa2",
  ]);
  assert.notEqual(statelessBranch(other), statelessBranch(ack));
});

Deno.test("maxForwardsEdit() rejects 0 with 483, appends 70 when absent, else decrements", async (t) => {
  await t.step("0 → 483 Too Many Hops", () => {
    const msg = request("INVITE sip:bob@198.51.100.7 SIP/2.0", [VIA, "Max-Forwards: 0"]);
    assert.deepEqual(maxForwardsEdit(msg), { status: 483, reason: "Too Many Hops" });
  });
  await t.step("absent → Max-Forwards: 70 appended", () => {
    const msg = request("INVITE sip:bob@198.51.100.7 SIP/2.0", [VIA]);
    const edit = maxForwardsEdit(msg);
    assert.deepEqual(edit, { op: "append", name: "Max-Forwards", value: "70" });
    assert.equal(apply(msg, [edit as Edit]).maxForwards, 70);
  });
  await t.step("1 → 0", () => {
    const msg = request("INVITE sip:bob@198.51.100.7 SIP/2.0", [VIA, "Max-Forwards: 1"]);
    const edit = maxForwardsEdit(msg);
    assert.ok(!("status" in edit));
    assert.equal(apply(msg, [edit]).maxForwards, 0);
  });
});

Deno.test("looseRoute() removes our two Record-Route entries and goes to the Request-URI", () => {
  const msg = request("BYE sip:alice@192.0.2.50:5062 SIP/2.0", [
    "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbx",
    "Route: <sip:127.0.2.1:5060;lr>, <sip:127.0.1.1:5060;lr>",
  ]);
  const d = looseRoute(msg, sides);
  assert.deepEqual(d.removed, ["internal", "external"]);
  assert.equal(d.next, "sip:alice@192.0.2.50:5062");
  assert.equal(d.received, undefined);
  const out = apply(msg, d.edits);
  assert.deepEqual(getHeaderValues(out, "route"), []);
  assert.equal(out.uri, "sip:alice@192.0.2.50:5062");
});

Deno.test("looseRoute() recognises our entries without a port and on separate lines", () => {
  const msg = request("BYE sip:100@127.0.2.10:5060 SIP/2.0", [
    VIA,
    "Route: <sip:127.0.1.1;lr>",
    "Route: <sip:127.0.2.1:5060;lr>",
  ]);
  const d = looseRoute(msg, sides);
  assert.deepEqual(d.removed, ["external", "internal"]);
  assert.equal(d.next, "sip:100@127.0.2.10:5060");
  assert.deepEqual(getHeaderValues(apply(msg, d.edits), "route"), []);
});

Deno.test("looseRoute() leaves a foreign route as the next hop", () => {
  const msg = request("BYE sip:alice@192.0.2.50:5062 SIP/2.0", [
    VIA,
    "Route: <sip:127.0.1.1:5060;lr>, <sip:198.51.100.20;lr>",
    "Route: <sip:198.51.100.21;lr>",
  ]);
  const d = looseRoute(msg, sides);
  assert.deepEqual(d.removed, ["external"]);
  assert.equal(d.next, "sip:198.51.100.20;lr");
  const out = apply(msg, d.edits);
  assert.deepEqual(getHeaderValues(out, "route"), [
    "<sip:198.51.100.20;lr>",
    "<sip:198.51.100.21;lr>",
  ]);
  assert.equal(out.uri, "sip:alice@192.0.2.50:5062");
});

Deno.test("looseRoute() changes nothing when the first route is not ours", () => {
  const msg = request("BYE sip:alice@192.0.2.50:5062 SIP/2.0", [
    VIA,
    "Route: <sip:198.51.100.20;lr>",
  ]);
  const d = looseRoute(msg, sides);
  assert.deepEqual(d.removed, []);
  assert.deepEqual(d.edits, []);
  assert.equal(d.next, "sip:198.51.100.20;lr");
});

Deno.test("looseRoute() repairs a strict router's rewrite: the last Route becomes the Request-URI (§16.4)", () => {
  // A strict router put our Record-Route entry into the R-URI and the target into the last Route.
  const msg = request("BYE sip:127.0.1.1:5060;lr SIP/2.0", [
    VIA,
    "Route: <sip:127.0.2.1:5060;lr>",
    "Route: <sip:100@127.0.2.10:5060>",
  ]);
  const d = looseRoute(msg, sides);
  assert.deepEqual(d.removed, ["internal"]);
  assert.equal(d.next, "sip:100@127.0.2.10:5060");
  const out = apply(msg, d.edits);
  assert.equal(out.uri, "sip:100@127.0.2.10:5060");
  assert.deepEqual(getHeaderValues(out, "route"), []);
});

Deno.test("looseRoute() picks up the received address of our Path entry (RFC 3327)", async (t) => {
  await t.step("UDP", () => {
    const msg = request("INVITE sip:alice@10.0.0.5:5062 SIP/2.0", [
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbx",
      "Route: <sip:127.0.2.1:5060;lr;received=sip:192.0.2.50:5062>",
    ]);
    const d = looseRoute(msg, sides);
    assert.deepEqual(d.removed, ["internal"]);
    assert.equal(d.received, "sip:192.0.2.50:5062");
    assert.equal(d.next, "sip:alice@10.0.0.5:5062");
  });
  await t.step("TCP: the escaped transport parameter survives", () => {
    const msg = request("INVITE sip:alice@10.0.0.5:5062 SIP/2.0", [
      "Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKpbx",
      "Route: <sip:127.0.2.1:5060;lr;received=sip:192.0.2.50:5062%3Btransport%3Dtcp>",
    ]);
    const d = looseRoute(msg, sides);
    assert.equal(d.received, "sip:192.0.2.50:5062;transport=tcp");
  });
});

Deno.test("looseRoute() recognises our entries on an IPv6 side", () => {
  const base = defaultConfig();
  const v6 = localSides({
    ...base,
    internal: { ...base.internal, sip: [{ proto: "udp", host: "fd00::1", port: 5060 }] },
  });
  const entry = routeEntry(v6.internal, "udp");
  assert.equal(entry, "<sip:[fd00::1]:5060;lr>");
  const msg = request("BYE sip:alice@192.0.2.50:5062 SIP/2.0", [
    VIA,
    `Route: ${entry}, <sip:127.0.1.1:5060;lr>`,
  ]);
  const d = looseRoute(msg, v6);
  assert.deepEqual(d.removed, ["internal", "external"]);
  assert.equal(d.next, "sip:alice@192.0.2.50:5062");
});
