// Registered phones behind NAT stay reachable (issue "The external side speaks to the internet",
// part 1): the SBC learns from the PBX's 200 to a REGISTER that the phone's Contact is not where
// its SIP comes from, and sends it an OPTIONS every nat_ping seconds from the external address,
// to the NAT's public address; a phone registered with its own address gets none.
import assert from "node:assert/strict";
import { ADDRESS, sleep, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig } from "./_media.ts";
import { isRequest, respond, SipEndpoint } from "./_sip_peer.ts";

Deno.test("a phone registered from behind NAT gets keepalive OPTIONS; one on its own address does not", async () => {
  const ports = usingPorts(71);
  const configToml = mediaConfig(ports, { external: { natPing: 1 } });
  await withSbc({ ports, configToml }, async () => {
    await using natted = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using direct = new SipEndpoint("127.0.1.11", 0);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const sbc = { host: ADDRESS.external, port: ports.sbc };
    const register = (phone: SipEndpoint, contactHost: string, contactPort: number, id: string) =>
      phone.send(
        [
          `REGISTER sip:${sbc.host} SIP/2.0`,
          `Via: SIP/2.0/UDP ${contactHost}:${contactPort};branch=z9hG4bK-${id};rport`,
          "Max-Forwards: 70",
          `From: <sip:${id}@${sbc.host}>;tag=${id}`,
          `To: <sip:${id}@${sbc.host}>`,
          `Call-ID: ${id}@${contactHost}`,
          "CSeq: 1 REGISTER",
          `Contact: <sip:${id}@${contactHost}:${contactPort}>`,
          "Expires: 60",
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n"),
        sbc,
      );
    for (
      const [phone, host, port, id] of [
        [natted, "10.0.0.5", 5062, "natted"],
        [direct, direct.host, direct.port, "direct"],
      ] as const
    ) {
      await register(phone, host, port, id);
      const atPbx = await pbx.expect(
        (m) => isRequest("REGISTER")(m) && m.callId.startsWith(id),
        `${id}'s REGISTER`,
      );
      await respond(pbx, atPbx.msg, 200, "OK");
    }
    // Two keepalives within 2.5 s, from the SBC's external address, to the private Contact URI.
    const first = await natted.expect(isRequest("OPTIONS"), "a keepalive", 2_500);
    assert.deepEqual(first.from, { host: ADDRESS.external, port: ports.sbc });
    assert.equal(first.msg.uri, "sip:natted@10.0.0.5:5062");
    await respond(natted, first.msg, 200, "OK");
    await natted.expect(isRequest("OPTIONS"), "the next keepalive", 2_500);
    await sleep(200);
    assert.deepEqual(direct.log.filter(({ msg }) => msg.method === "OPTIONS"), []);
  });
});
