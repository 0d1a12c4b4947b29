// Headers an outsider brings that the PBX would act on never reach it (issue "The edge holds"):
// a Route set (a PBX that proxies on Route would carry the request on to an inside host of the
// outsider's choosing) and asserted identities from an untrusted source (RFC 3325 §5). A raw UDP
// peer stands in for the PBX, so the tests see the INVITE exactly as the SBC sent it.
import assert from "node:assert/strict";
import { ADDRESS, headerValues, type Ports, usingPorts, withSbc } from "./_harness.ts";

/** Sends the phone's INVITE with `extra` header lines through the SBC; what the PBX received. */
async function inviteThrough(ports: Ports, callId: string, extra: string[]): Promise<string> {
  const pbx = Deno.listenDatagram({ transport: "udp", hostname: ADDRESS.pbx, port: ports.pbx });
  const phone = Deno.listenDatagram({ transport: "udp", hostname: ADDRESS.phone, port: 0 });
  try {
    const from = phone.addr as Deno.NetAddr;
    const invite = [
      `INVITE sip:100@${ADDRESS.external}:${ports.sbc} SIP/2.0`,
      `Via: SIP/2.0/UDP ${from.hostname}:${from.port};branch=z9hG4bK-${callId};rport`,
      ...extra,
      "Max-Forwards: 70",
      "From: <sip:attacker@example.com>;tag=a1",
      `To: <sip:100@${ADDRESS.external}>`,
      `Call-ID: ${callId}@example.com`,
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
    return new TextDecoder().decode(bytes);
  } finally {
    pbx.close();
    phone.close();
  }
}

Deno.test("an INVITE from outside with a pre-loaded Route set reaches the PBX without it", async () => {
  const ports = usingPorts(51);
  await withSbc({ ports }, async () => {
    const text = await inviteThrough(ports, "preloaded-route", [
      `Route: <sip:${ADDRESS.external}:${ports.sbc};lr>, <sip:127.0.2.99:${ports.sbc + 9};lr>`,
      "Route: <sip:10.9.9.9;lr>",
    ]);
    assert.match(text, /^INVITE /);
    assert.deepEqual(headerValues(text, "Route"), [], text);
    assert.equal(headerValues(text, "Record-Route").length, 2, "still record-routed");
  });
});

Deno.test("identity asserted by an untrusted outside caller does not reach the PBX", async () => {
  const ports = usingPorts(52);
  await withSbc({ ports }, async () => {
    const text = await inviteThrough(ports, "forged-identity", [
      "P-Asserted-Identity: <sip:ceo@pbx.example.com>",
      "P-Preferred-Identity: <sip:ceo@pbx.example.com>",
      "Remote-Party-ID: <sip:ceo@pbx.example.com>;party=calling",
    ]);
    assert.match(text, /^INVITE /);
    for (const name of ["P-Asserted-Identity", "P-Preferred-Identity", "Remote-Party-ID"]) {
      assert.deepEqual(headerValues(text, name), [], `${name}\n${text}`);
    }
  });
});
