// Real calls still latch under strict source (issue "No outsider can take a call's audio"): a
// carrier whose SIP comes from its proxy while its RTP comes from the media gateway its SDP names.
// Trusted (`trusted` lists the proxy), the relay sends to the gateway at once; untrusted, it sends
// to the proxy's address until the gateway's first packet, then latches on the gateway.
import assert from "node:assert/strict";
import { ADDRESS, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig, relayPorts, RtpEndpoint, sdpBody } from "./_media.ts";
import { establishCall, hangUp, SipEndpoint } from "./_sip_peer.ts";

const PROXY = "127.0.1.50";
const GATEWAY = "127.0.1.51";

for (const trusted of [true, false]) {
  Deno.test(`a carrier's media gateway (SIP from its proxy, ${trusted ? "trusted" : "untrusted"}) gets the call's audio`, async () => {
    const ports = usingPorts(trusted ? 67 : 68);
    const configToml = mediaConfig(ports).replace(
      'media = "127.0.1.1"',
      `media = "127.0.1.1"${trusted ? `\ntrusted = ["${PROXY}"]` : ""}`,
    );
    await withSbc({ ports, configToml }, async () => {
      await using carrier = new SipEndpoint(PROXY, ports.phone);
      await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
      const gateway = new RtpEndpoint(GATEWAY, ports.phoneMedia);
      const proxyRtp = new RtpEndpoint(PROXY, ports.phoneMedia);
      const pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
      try {
        const call = await establishCall(
          carrier,
          pbx,
          { host: ADDRESS.external, port: ports.sbc },
          sdpBody({ address: GATEWAY, media: [{ type: "audio", port: ports.phoneMedia }] }),
          sdpBody({ address: ADDRESS.pbx, media: [{ type: "audio", port: ports.pbxMedia }] }),
        );
        const external = relayPorts(call.answerAtCaller)[0]!;
        const internal = relayPorts(call.offerAtCallee)[0]!;
        const toInternal = { hostname: ADDRESS.internal, port: internal };
        // The PBX speaks first.
        await pbxRtp.send(toInternal, { ssrc: 0xb0, count: 5, intervalMs: 1 });
        if (trusted) {
          await gateway.waitFor((got) => got.length >= 5, "the PBX's audio at the gateway");
        } else {
          await proxyRtp.waitFor(
            (got) => got.length >= 5,
            "the PBX's audio at the proxy's address",
          );
        }
        // The gateway sends: it is one of the carrier's hosts (its SDP address), so it latches.
        await gateway.send({ hostname: ADDRESS.external, port: external }, {
          ssrc: 0xa0,
          count: 5,
          intervalMs: 1,
        });
        await pbxRtp.waitFor((got) => got.some((p) => p.ssrc === 0xa0), "the gateway's audio");
        await pbxRtp.send(toInternal, { ssrc: 0xb1, count: 5, intervalMs: 1 });
        await gateway.waitFor((got) => got.some((p) => p.ssrc === 0xb1), "audio at the gateway");
        assert.equal(proxyRtp.received.some((p) => p.ssrc === 0xb1), false);
        await hangUp(call.caller, call.callee);
      } finally {
        await Promise.all([gateway.close(), proxyRtp.close(), pbxRtp.close()]);
      }
    });
  });
}
