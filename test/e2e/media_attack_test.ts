// Attacks on a call's media from outside (issue "No outsider can take a call's audio"): a
// stranger sprays every relay port on the external address before the phone sends, and again
// during the phone's silence, on RTP and RTCP; an outside caller's SDP names an inside host.
// The stranger must receive nothing and inject nothing, the phone must still latch (also from a
// new port of its own address), and no media may go to the inside host.
import assert from "node:assert/strict";
import { ADDRESS, sleep, usingPorts, withSbc } from "./_harness.ts";
import { mediaConfig, mediaStats, relayPorts, RtpEndpoint, sdpBody } from "./_media.ts";
import { establishCall, hangUp, isResponse, sendInvite, SipEndpoint } from "./_sip_peer.ts";

const STRANGER = "127.0.1.66";
const VICTIM = "127.0.2.99";

Deno.test("a stranger spraying the relay's ports gets no audio, injects none, and never takes the phone's latch", async () => {
  const ports = usingPorts(60);
  await withSbc({ ports, configToml: mediaConfig(ports) }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const phoneRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
    const pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
    const stranger = new RtpEndpoint(STRANGER, 0);
    try {
      const audio = (address: string, port: number) =>
        sdpBody({ address, media: [{ type: "audio", port }] });
      const call = await establishCall(
        phone,
        pbx,
        { host: ADDRESS.external, port: ports.sbc },
        audio(ADDRESS.phone, ports.phoneMedia),
        audio(ADDRESS.pbx, ports.pbxMedia),
      );
      const external = relayPorts(call.answerAtCaller)[0]!;
      const internal = relayPorts(call.offerAtCallee)[0]!;
      const [low, high] = ports.mediaRange;
      // Before the phone sends: one packet to every port of the range, RTP and RTCP.
      for (let port = low; port <= high + 1; port++) {
        await stranger.send({ hostname: ADDRESS.external, port }, { ssrc: 0x5a, count: 1 });
      }
      // The PBX talks (early answer, late phone): none of it may reach the stranger.
      const toInternal = { hostname: ADDRESS.internal, port: internal };
      await pbxRtp.send(toInternal, { ssrc: 0xb0, count: 20, intervalMs: 1 });
      await phoneRtp.waitFor((got) => got.length >= 20, "the PBX's audio at the phone's SDP port");
      // Then the phone sends: its audio reaches the PBX, the stranger's never did.
      const toExternal = { hostname: ADDRESS.external, port: external };
      await phoneRtp.send(toExternal, { ssrc: 0xa0, count: 20, intervalMs: 1 });
      await pbxRtp.waitFor((got) => got.some((p) => p.ssrc === 0xa0), "the phone's audio");
      // The phone falls silent past the 2 s latch takeover; the stranger sprays again.
      await sleep(3_000);
      await stranger.send(toExternal, { ssrc: 0x5b, count: 20, intervalMs: 1 });
      await stranger.send({ ...toExternal, port: external + 1 }, { ssrc: 0x5c, count: 5 });
      await pbxRtp.send(toInternal, { ssrc: 0xb1, count: 20, intervalMs: 1 });
      await phoneRtp.waitFor((got) => got.some((p) => p.ssrc === 0xb1), "the PBX's audio again");
      // The phone's own address from another port (a NAT rebinding) takes the latch at once.
      const rebound = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia + 2);
      try {
        await rebound.send(toExternal, { ssrc: 0xa1, count: 5, intervalMs: 1 });
        await pbxRtp.waitFor((got) => got.some((p) => p.ssrc === 0xa1), "the rebound phone");
        await pbxRtp.send(toInternal, { ssrc: 0xb2, count: 5, intervalMs: 1 });
        await rebound.waitFor((got) => got.some((p) => p.ssrc === 0xb2), "audio at the new port");
      } finally {
        await rebound.close();
      }
      await sleep(200);
      assert.deepEqual(stranger.received, [], "the stranger received audio");
      assert.deepEqual(
        pbxRtp.received.filter((p) => [0x5a, 0x5b, 0x5c].includes(p.ssrc)),
        [],
        "the stranger's packets reached the PBX",
      );
      await hangUp(call.caller, call.callee);
    } finally {
      await Promise.all([phoneRtp.close(), pbxRtp.close(), stranger.close()]);
    }
  });
});

Deno.test("an outside caller's SDP naming an inside host gets the PBX's audio sent nowhere inside", async () => {
  const ports = usingPorts(61);
  const configToml = mediaConfig(ports, { internal: { networks: ["127.0.2.0/24"] } });
  await withSbc({ ports, configToml }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    const pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
    const victim = new RtpEndpoint(VICTIM, ports.phoneMedia);
    try {
      const call = await establishCall(
        phone,
        pbx,
        { host: ADDRESS.external, port: ports.sbc },
        sdpBody({ address: VICTIM, media: [{ type: "audio", port: ports.phoneMedia }] }),
        sdpBody({ address: ADDRESS.pbx, media: [{ type: "audio", port: ports.pbxMedia }] }),
      );
      const internal = relayPorts(call.offerAtCallee)[0]!;
      await pbxRtp.send({ hostname: ADDRESS.internal, port: internal }, {
        ssrc: 0xb0,
        count: 20,
        intervalMs: 1,
      });
      await sleep(500);
      assert.deepEqual(victim.received, [], "the relay sent the PBX's audio to an inside host");
      await hangUp(call.caller, call.callee);
    } finally {
      await Promise.all([pbxRtp.close(), victim.close()]);
    }
  });
});

Deno.test("a flood of unanswered and many-m= INVITEs from one source leaves a real call its ports", async () => {
  const ports = usingPorts(62);
  const configToml = mediaConfig(ports).replace(
    "[pbx]",
    "max_offers_per_source = 20\nmax_streams = 8\n\n[pbx]",
  );
  await withSbc({ ports, configToml }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using flooder = new SipEndpoint(STRANGER, 0);
    const phoneRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
    const pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
    try {
      const sbc = { host: ADDRESS.external, port: ports.sbc };
      const audio = (address: string, port: number, lines = 1) =>
        sdpBody({
          address,
          media: Array.from(
            { length: lines },
            (_, i) => ({ type: "audio" as const, port: port + 2 * i }),
          ),
        });
      // 300 INVITEs the PBX never answers (the relay's range holds 50 pairs per side), then one
      // with 100 m= lines: bounded, from one outside address.
      for (let i = 0; i < 300; i++) {
        await sendInvite(flooder, sbc, audio(STRANGER, 50000));
        if (i % 20 === 19) await sleep(5); // paced: the kernel's socket buffers, not the SBC, would drop
      }
      await flooder.expect(isResponse("INVITE", 1, 503), "503 past the per-source cap");
      // From its own socket, so its answer is not lost among the flood's retransmitted 503s,
      // and sent again as a UDP client would (Timer A) when the flooded socket dropped it.
      await using many = new SipEndpoint(STRANGER, 0);
      const bigInvite = await sendInvite(many, sbc, audio(STRANGER, 50000, 100));
      for (let i = 0; i < 3 && !many.log.some(({ msg }) => msg.status >= 100); i++) {
        await sleep(1000);
        if (!many.log.some(({ msg }) => msg.status >= 100)) await many.send(bigInvite.text, sbc);
      }
      const refusedMany = await many.expect(isResponse("INVITE", 1, 488), "488 for 100 m= lines");
      assert.equal(refusedMany.msg.reason, "Too Many Media Streams");
      // A real call from another source is set up at once and carries audio both ways.
      const started = Date.now();
      const call = await establishCall(
        phone,
        pbx,
        sbc,
        audio(ADDRESS.phone, ports.phoneMedia),
        audio(ADDRESS.pbx, ports.pbxMedia),
      );
      assert.ok(Date.now() - started < 1_000, `set up in ${Date.now() - started} ms`);
      const external = relayPorts(call.answerAtCaller)[0]!;
      const internal = relayPorts(call.offerAtCallee)[0]!;
      await phoneRtp.send({ hostname: ADDRESS.external, port: external }, {
        ssrc: 0xa0,
        count: 10,
      });
      await pbxRtp.waitFor(
        (got) => got.some((p) => p.ssrc === 0xa0),
        "the phone's audio at the PBX",
      );
      await pbxRtp.send({ hostname: ADDRESS.internal, port: internal }, { ssrc: 0xb0, count: 10 });
      await phoneRtp.waitFor(
        (got) => got.some((p) => p.ssrc === 0xb0),
        "the PBX's audio at the phone",
      );
      const stats = await mediaStats(ports);
      // The cap held: the flood's 20 offers and the real call, whatever UDP lost of the flood.
      assert.ok(stats.sessions <= 21 && stats.offersRefused > 0, JSON.stringify(stats));
      await hangUp(call.caller, call.callee);
    } finally {
      await Promise.all([phoneRtp.close(), pbxRtp.close()]);
    }
  });
});
