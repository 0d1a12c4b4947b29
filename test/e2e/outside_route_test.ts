// A Route set brought from outside never reaches the PBX: a PBX that proxies on Route would carry
// the request on to an inside host of the outsider's choosing (issue "The edge holds"). A raw
// UDP peer stands in for the PBX, so the test sees the INVITE exactly as the SBC sent it.
import assert from "node:assert/strict";
import { ADDRESS, headerValues, usingPorts, withSbc } from "./_harness.ts";

Deno.test("an INVITE from outside with a pre-loaded Route set reaches the PBX without it", async () => {
  const ports = usingPorts(51);
  await withSbc({ ports }, async () => {
    const pbx = Deno.listenDatagram({ transport: "udp", hostname: ADDRESS.pbx, port: ports.pbx });
    const phone = Deno.listenDatagram({ transport: "udp", hostname: ADDRESS.phone, port: 0 });
    try {
      const from = phone.addr as Deno.NetAddr;
      const invite = [
        `INVITE sip:100@${ADDRESS.external}:${ports.sbc} SIP/2.0`,
        `Via: SIP/2.0/UDP ${from.hostname}:${from.port};branch=z9hG4bK-preloaded-1;rport`,
        `Route: <sip:${ADDRESS.external}:${ports.sbc};lr>, <sip:127.0.2.99:${ports.sbc + 9};lr>`,
        "Route: <sip:10.9.9.9;lr>",
        "Max-Forwards: 70",
        "From: <sip:attacker@example.com>;tag=a1",
        `To: <sip:100@${ADDRESS.external}>`,
        "Call-ID: preloaded-route@example.com",
        "CSeq: 1 INVITE",
        `Contact: <sip:attacker@${from.hostname}:${from.port}>`,
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      await phone.send(new TextEncoder().encode(invite), {
        transport: "udp",
        hostname: ADDRESS.external,
        port: ports.sbc,
      });
      const [bytes] = await pbx.receive();
      const text = new TextDecoder().decode(bytes);
      assert.match(text, /^INVITE /);
      assert.deepEqual(headerValues(text, "Route"), [], text);
      assert.equal(headerValues(text, "Record-Route").length, 2, "still record-routed");
    } finally {
      pbx.close();
      phone.close();
    }
  });
});
