// End-to-end media through the SBC's RTP relay: sipp with real G.711 where it fits, small Deno
// SIP/RTP peers (_sip_peer.ts, _media.ts) where a test needs new SDP mid-call, a NATed source port,
// video or exact packet counts. Port blocks 20–29.
import assert from "node:assert/strict";
import {
  ADDRESS,
  assertAllCallsSucceeded,
  echoedAudioCall,
  type Ports,
  received,
  runSipp,
  sleep,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";
import {
  type CapturedPacket,
  describePackets,
  mediaCalls,
  mediaConfig,
  mediaStats,
  relayPorts,
  RtpEndpoint,
  sdpBody,
  type SdpOptions,
  startCapture,
  type UdpAddress,
  viewSdp,
  waitForMediaStats,
} from "./_media.ts";
import {
  ackFailure,
  type Call,
  calleeDialog,
  callerDialog,
  establishCall,
  hangUp,
  isRequest,
  isResponse,
  reInvite,
  respond,
  sendCancel,
  sendInDialog,
  sendInvite,
  SipEndpoint,
} from "./_sip_peer.ts";

const sbcExternal = (ports: Ports) => ({ host: ADDRESS.external, port: ports.sbc });

/** Asserts an SDP names only `address` (c=, o= when `origin`, a=rtcp) and relay ports in range. */
function assertSdpFacing(
  body: string,
  address: string,
  range: readonly [number, number],
  options: { streams: number; origin: boolean },
): number[] {
  const sdp = viewSdp(body);
  assert.equal(sdp.media.length, options.streams, body);
  if (options.origin) {
    assert.deepEqual([...new Set(sdp.addresses)], [address], `addresses in:\n${body}`);
  } else {
    for (const m of sdp.media) assert.equal(m.connection, address, `c= of:\n${body}`);
  }
  return sdp.media.map((m) => {
    assert.ok(
      m.port >= range[0] && m.port + 1 <= range[1] && m.port % 2 === 0,
      `m=${m.type} port ${m.port} outside [${range}] or odd in:\n${body}`,
    );
    if (m.rtcp) {
      assert.equal(m.rtcp.port, m.port + 1, `a=rtcp of:\n${body}`);
      assert.equal(m.rtcp.address, address, `a=rtcp of:\n${body}`);
    }
    return m.port;
  });
}

/** The relay's port for each m= line of an SDP the SBC sent. */
function audio(address: string, port: number, version = 1, direction?: "sendonly" | "inactive") {
  const options: SdpOptions = {
    address,
    version,
    media: [{ type: "audio", port, ...(direction && { direction }) }],
  };
  return sdpBody(options);
}

/**
 * Media both ways through the relay: `count` packets phone → PBX and PBX → phone, each arriving
 * from the SBC address facing the receiver.
 */
async function exchange(
  phoneRtp: RtpEndpoint,
  pbxRtp: RtpEndpoint,
  relay: { external: number; internal: number },
  ssrc: number,
  count = 10,
): Promise<void> {
  const external: UdpAddress = { hostname: ADDRESS.external, port: relay.external };
  const internal: UdpAddress = { hostname: ADDRESS.internal, port: relay.internal };
  await phoneRtp.send(external, { ssrc, count, intervalMs: 1 });
  await pbxRtp.expectStream(
    ssrc,
    count,
    `${ADDRESS.internal}:${relay.internal}`,
    `phone's RTP (ssrc ${ssrc.toString(16)}) at the PBX`,
  );
  await pbxRtp.send(internal, { ssrc: ssrc + 1, count, intervalMs: 1 });
  await phoneRtp.expectStream(
    ssrc + 1,
    count,
    `${ADDRESS.external}:${relay.external}`,
    `PBX's RTP (ssrc ${(ssrc + 1).toString(16)}) at the phone`,
  );
}

/** The relay ports of a call's first stream: where the phone and the PBX send to. */
function relayOf(call: Call, stream = 0): { external: number; internal: number } {
  return {
    external: relayPorts(call.answerAtCaller)[stream]!,
    internal: relayPorts(call.offerAtCallee)[stream]!,
  };
}

Deno.test("G.711 from a pcap crosses the relay both ways and never goes directly between phone and PBX", async () => {
  const ports = usingPorts(20);
  const [low, high] = ports.mediaRange;
  await withSbc({ ports }, async () => {
    // the phone's and the PBX's sipp media ports, and the SBC's range (RTP and RTCP)
    const capture = await startCapture(
      `udp and (portrange ${ports.phoneMedia}-${ports.pbxMedia + 3} or ` +
        `portrange ${low}-${high + 1})`,
      30,
    );
    let packets: CapturedPacket[];
    try {
      const { phone, pbx: callee } = await echoedAudioCall(ports);

      // each side's SDP names the SBC address facing it (c=; no `o` flag, so o= passes as is
      // inside, while topology hiding, on by default outside, rewrites o= there too)
      const body = (text: string) => text.slice(text.indexOf("\n\n") + 2);
      const offer = body(received(callee, "INVITE")[0]!.text);
      const answer = body(received(phone, "200").find((m) => m.text.includes("m=audio"))!.text);
      const [internalPort] = assertSdpFacing(offer, ADDRESS.internal, ports.mediaRange, {
        streams: 1,
        origin: false,
      });
      const [externalPort] = assertSdpFacing(answer, ADDRESS.external, ports.mediaRange, {
        streams: 1,
        origin: false,
      });
      assert.equal(viewSdp(offer).origin, ADDRESS.phone);
      assert.equal(viewSdp(answer).origin, ADDRESS.external);

      await sleep(200); // the last echoes
      packets = await capture.stop();

      // every packet has the SBC at one end, and the SBC address of that party's side
      const sbcSide: Record<string, string> = {
        [ADDRESS.phone]: ADDRESS.external,
        [ADDRESS.pbx]: ADDRESS.internal,
      };
      const wrong = packets.filter((p) =>
        (sbcSide[p.src] !== undefined && sbcSide[p.src] !== p.dst) ||
        (sbcSide[p.dst] !== undefined && sbcSide[p.dst] !== p.src)
      );
      assert.deepEqual(wrong, [], "packets not between a party and the SBC's address facing it");

      const flow = (src: string, srcPort: number | undefined, dst: string, dstPort?: number) =>
        packets.filter((p) =>
          p.src === src && p.dst === dst && (srcPort === undefined || p.srcPort === srcPort) &&
          (dstPort === undefined || p.dstPort === dstPort)
        );
      const played = flow(ADDRESS.phone, undefined, ADDRESS.external, externalPort);
      const relayed = flow(ADDRESS.internal, internalPort, ADDRESS.pbx, ports.pbxMedia);
      const echoed = flow(ADDRESS.pbx, ports.pbxMedia, ADDRESS.internal, internalPort);
      const returned = flow(ADDRESS.external, externalPort, ADDRESS.phone);
      const summary = `played ${played.length}, relayed to PBX ${relayed.length}, ` +
        `echoed ${echoed.length}, relayed to phone ${returned.length} of ${packets.length}`;
      // the capture holds 236 packets of 260 UDP bytes
      assert.ok(played.length >= 230, summary);
      const rtp = (list: CapturedPacket[]) => list.map((p) => `${p.ssrc}/${p.seq}/${p.length}`);
      // the relay forwards every packet as received, in order, both ways
      assert.deepEqual(rtp(relayed), rtp(played), summary);
      assert.deepEqual(rtp(echoed), rtp(relayed), summary);
      assert.deepEqual(rtp(returned), rtp(echoed), summary);
      assert.ok(played.every((p) => p.ssrc !== "" && p.length === 260), summary);
      // the echo went to where the phone's audio came from (latching)
      const phoneSource = new Set(played.map((p) => p.srcPort));
      assert.deepEqual(new Set(returned.map((p) => p.dstPort)), phoneSource);

      const stats = await waitForMediaStats(
        ports,
        (m) => m.portsInUse === 0 && m.sessions === 0,
        "ports free after the BYE",
      );
      assert.ok(stats.packetsRelayed >= 2 * played.length, JSON.stringify(stats));
    } finally {
      await capture.stop();
    }
  });
});

Deno.test("each side's SDP names only the SBC address facing it, in calls and offers from either side (flags c, o)", async () => {
  const ports = usingPorts(21);
  const configToml = mediaConfig(ports, {
    external: { flags: "co" },
    internal: { flags: "co" },
  });
  await withSbc({ ports, configToml }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    // session-level c= plus media-level c= on every m= line: only flag c rewrites the former
    const party = (address: string, base: number, version: number) =>
      sdpBody({
        address,
        version,
        media: [
          {
            type: "audio",
            port: base,
            connection: address,
            rtcp: { port: base + 1, address },
          },
          { type: "video", port: base + 2, connection: address },
        ],
      });
    const call = await establishCall(
      phone,
      pbx,
      sbcExternal(ports),
      party(ADDRESS.phone, ports.phoneMedia, 1),
      party(ADDRESS.pbx, ports.pbxMedia, 1),
    );
    const range = ports.mediaRange;
    const facing = { streams: 2, origin: true };
    const internal = assertSdpFacing(call.offerAtCallee, ADDRESS.internal, range, facing);
    const external = assertSdpFacing(call.answerAtCaller, ADDRESS.external, range, facing);

    // a re-offer from the PBX keeps the relay ports of each m= line (RFC 3264 §8.3.1)
    const again = await reInvite(
      call.callee,
      call.caller,
      party(ADDRESS.pbx, ports.pbxMedia, 2),
      { answer: party(ADDRESS.phone, ports.phoneMedia, 2) },
    );
    assert.equal(again.status, 200);
    assert.deepEqual(assertSdpFacing(again.offerAtFar, ADDRESS.external, range, facing), external);
    assert.deepEqual(
      assertSdpFacing(again.answerAtNear, ADDRESS.internal, range, facing),
      internal,
    );
    await hangUp(call.caller, call.callee);

    // a call from the PBX: the same, the other way round
    const reverse = await establishCall(
      pbx,
      phone,
      { host: ADDRESS.internal, port: ports.sbc },
      party(ADDRESS.pbx, ports.pbxMedia, 1),
      party(ADDRESS.phone, ports.phoneMedia, 1),
      `sip:phone@${ADDRESS.phone}:${ports.phone}`,
    );
    assertSdpFacing(reverse.offerAtCallee, ADDRESS.external, range, facing);
    assertSdpFacing(reverse.answerAtCaller, ADDRESS.internal, range, facing);
    await hangUp(reverse.callee, reverse.caller);

    // a 2xx retransmitted before the ACK (RFC 3261 §13.3.1.4) is rewritten like the first
    const invite = await sendInvite(
      phone,
      sbcExternal(ports),
      party(ADDRESS.phone, ports.phoneMedia, 1),
    );
    const atPbx = await pbx.expect(isRequest("INVITE", 1), "the INVITE");
    for (let i = 0; i < 2; i++) {
      await respond(pbx, atPbx.msg, 200, "OK", {
        toTag: "again",
        body: party(ADDRESS.pbx, ports.pbxMedia, 1),
      });
    }
    for (let i = 0; i < 2; i++) {
      const ok = await phone.expect(isResponse("INVITE", 1, 200), `200 #${i + 1}`);
      assertSdpFacing(ok.msg.body, ADDRESS.external, range, facing);
    }
    const dialog = callerDialog(
      phone,
      invite,
      // this call's 200 (the SBC refuses in-dialog requests with another dialog's tags)
      phone.log.find(({ msg }) => msg.status === 200 && msg.callId === invite.callId)!.msg,
    );
    await sendInDialog(dialog, "ACK");
    await hangUp(dialog, calleeDialog(pbx, atPbx.msg, "again"));
    await waitForMediaStats(ports, (m) => m.portsInUse === 0, "ports free after the BYEs");
  });
});

Deno.test("hold, resume and an offerless re-INVITE keep media flowing, and a re-INVITE rejected with 488 keeps the call's media", async () => {
  const ports = usingPorts(22);
  await withSbc({ ports }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using phoneRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
    await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
    await using movedRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia + 2);
    const phoneSdp = (
      version: number,
      direction?: "sendonly" | "inactive",
      port = ports.phoneMedia,
    ) => audio(ADDRESS.phone, port, version, direction);
    const pbxSdp = (version: number, direction?: "sendonly" | "inactive") =>
      audio(ADDRESS.pbx, ports.pbxMedia, version, direction);
    // the answer to a sendonly offer is recvonly (RFC 3264 §6.1)
    const recvonly = (body: string) => body.replace("a=sendonly", "a=recvonly");

    const call = await establishCall(phone, pbx, sbcExternal(ports), phoneSdp(1), pbxSdp(1));
    const relay = relayOf(call);
    await exchange(phoneRtp, pbxRtp, relay, 0x1000);

    const held = async () => (await mediaCalls(ports))[0]?.streams[0]?.hold;
    const step = async (
      near: "phone" | "pbx",
      offer: string,
      answer: string,
      direction: string,
      hold: boolean,
    ) => {
      const [from, to] = near === "phone" ? [call.caller, call.callee] : [call.callee, call.caller];
      const r = await reInvite(from, to, offer, { answer });
      assert.equal(r.status, 200);
      assert.equal(viewSdp(r.offerAtFar).media[0]!.direction, direction, r.offerAtFar);
      // the relay ports stay those of the call
      const [offered, answered] = near === "phone"
        ? [relay.internal, relay.external]
        : [relay.external, relay.internal];
      assert.equal(relayPorts(r.offerAtFar)[0], offered, r.offerAtFar);
      assert.equal(relayPorts(r.answerAtNear)[0], answered, r.answerAtNear);
      assert.equal(await held(), hold, `hold after the ${direction} re-INVITE`);
    };

    // the phone holds (sendonly), then the PBX makes it inactive; each resumes its own hold
    await step("phone", phoneSdp(2, "sendonly"), recvonly(pbxSdp(2)), "sendonly", true);
    await step("phone", phoneSdp(3), pbxSdp(3), "sendrecv", false);
    await exchange(phoneRtp, pbxRtp, relay, 0x2000);
    await step("pbx", pbxSdp(4, "inactive"), phoneSdp(4, "inactive"), "inactive", true);
    await step("pbx", pbxSdp(5), phoneSdp(5), "sendrecv", false);
    await exchange(phoneRtp, pbxRtp, relay, 0x3000);

    // a re-INVITE without SDP: the PBX offers in the 200 and the phone answers in the ACK
    // (RFC 3261 §14.1); both SDPs still name the SBC and the call's relay ports
    const late = await sendInDialog(call.caller, "INVITE");
    const lateAtPbx = await pbx.expect(isRequest("INVITE", late.cseq), "offerless re-INVITE");
    assert.equal(lateAtPbx.msg.body, "");
    await respond(pbx, lateAtPbx.msg, 200, "OK", { body: pbxSdp(6) });
    const lateOffer = await phone.expect(isResponse("INVITE", late.cseq, 200), "200 with offer");
    assert.deepEqual(viewSdp(lateOffer.msg.body).media[0], {
      type: "audio",
      port: relay.external,
      connection: ADDRESS.external,
      direction: "sendrecv",
      rtcp: undefined,
    });
    await sendInDialog(call.caller, "ACK", phoneSdp(6));
    const lateAnswer = await pbx.expect(isRequest("ACK", late.cseq), "ACK with answer");
    assert.equal(viewSdp(lateAnswer.msg.body).media[0]?.port, relay.internal);
    assert.equal(viewSdp(lateAnswer.msg.body).media[0]?.connection, ADDRESS.internal);
    await exchange(phoneRtp, pbxRtp, relay, 0x3800);

    // a re-offer moving the phone's media elsewhere, rejected: the media stays where it was.
    // The PBX sends first, so the relay cannot just latch onto the phone again.
    const before = await mediaStats(ports);
    const rejected = await reInvite(
      call.caller,
      call.callee,
      phoneSdp(7, undefined, movedRtp.address.port),
      { reject: 488, reason: "Not Acceptable Here" },
    );
    assert.equal(rejected.status, 488);
    await pbxRtp.send({ hostname: ADDRESS.internal, port: relay.internal }, {
      ssrc: 0x4000,
      count: 10,
    });
    await phoneRtp.expectStream(
      0x4000,
      10,
      `${ADDRESS.external}:${relay.external}`,
      "PBX's RTP after the rejected re-offer",
    );
    assert.deepEqual(movedRtp.received, [], "media followed a rejected re-offer");
    await exchange(phoneRtp, pbxRtp, relay, 0x4100);
    const after = await mediaStats(ports);
    assert.equal(after.sessions, 1);
    assert.equal(after.portsInUse, 2);
    assert.ok(
      after.packetsRelayed >= before.packetsRelayed + 30,
      JSON.stringify({ before, after }),
    );

    // the same move accepted: the PBX's media now goes to the new address
    const moved = await reInvite(
      call.caller,
      call.callee,
      phoneSdp(8, undefined, movedRtp.address.port),
      {
        answer: pbxSdp(8),
      },
    );
    assert.equal(moved.status, 200);
    await pbxRtp.send({ hostname: ADDRESS.internal, port: relay.internal }, {
      ssrc: 0x5000,
      count: 5,
    });
    await movedRtp.expectStream(
      0x5000,
      5,
      `${ADDRESS.external}:${relay.external}`,
      "after the move",
    );
    await hangUp(call.callee, call.caller);
    await waitForMediaStats(ports, (m) => m.portsInUse === 0, "ports free after the BYE");
  });
});

for (const [flags, block] of [[undefined, 23], ["w", 24]] as const) {
  Deno.test(
    `a phone behind NAT gets the PBX's media at the port it really sends from, and no stranger takes it over (${
      flags ? `flag ${flags}` : "default"
    })`,
    async () => {
      const ports = usingPorts(block);
      const configToml = mediaConfig(ports, flags ? { external: { flags } } : {});
      await withSbc({ ports, configToml }, async () => {
        await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
        await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
        // the SDP says phoneMedia; the NAT maps the phone's socket to phoneMedia + 2
        await using sdpRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
        await using natRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia + 2);
        await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
        const call = await establishCall(
          phone,
          pbx,
          sbcExternal(ports),
          audio(ADDRESS.phone, ports.phoneMedia),
          audio(ADDRESS.pbx, ports.pbxMedia),
        );
        const relay = relayOf(call);
        const internal = { hostname: ADDRESS.internal, port: relay.internal };
        const fromExternal = `${ADDRESS.external}:${relay.external}`;

        // before the phone's first packet the relay can only use the SDP address
        await pbxRtp.send(internal, { ssrc: 0xa1, count: 5 });
        await sdpRtp.expectStream(0xa1, 5, fromExternal, "PBX's RTP before latching");

        await natRtp.send({ hostname: ADDRESS.external, port: relay.external }, {
          ssrc: 0xb1,
          count: 5,
        });
        await pbxRtp.expectStream(0xb1, 5, `${ADDRESS.internal}:${relay.internal}`, "phone's RTP");

        await pbxRtp.send(internal, { ssrc: 0xa2, count: 10 });
        await natRtp.expectStream(0xa2, 10, fromExternal, "PBX's RTP after latching");
        assert.deepEqual(sdpRtp.from(0xa2), [], "media still sent to the SDP port after latching");
        const [info] = await mediaCalls(ports);
        assert.equal(info?.streams[0]?.legs[0]?.latched, `${ADDRESS.phone}:${natRtp.address.port}`);

        // while the phone is active, another source cannot take its stream over
        await using stranger = new RtpEndpoint("127.0.1.66", 0);
        const { drops } = await mediaStats(ports);
        await stranger.send({ hostname: ADDRESS.external, port: relay.external }, {
          ssrc: 0xee,
          count: 5,
        });
        await waitForMediaStats(ports, (m) => m.drops >= drops + 5, "stranger's packets dropped");
        await pbxRtp.send(internal, { ssrc: 0xa3, count: 5 });
        await natRtp.expectStream(0xa3, 5, fromExternal, "PBX's RTP after the stranger");
        assert.deepEqual(pbxRtp.from(0xee), []);
        assert.deepEqual(stranger.received, []);
        await hangUp(call.caller, call.callee);
      });
    },
  );
}

Deno.test("an asymmetric phone (flag a) gets the PBX's media at its SDP port whatever it sends from", async () => {
  const ports = usingPorts(26);
  const configToml = mediaConfig(ports, { external: { flags: "a" } });
  await withSbc({ ports, configToml }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using sdpRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
    await using otherRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia + 2);
    await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
    const call = await establishCall(
      phone,
      pbx,
      sbcExternal(ports),
      audio(ADDRESS.phone, ports.phoneMedia),
      audio(ADDRESS.pbx, ports.pbxMedia),
    );
    const relay = relayOf(call);
    await otherRtp.send({ hostname: ADDRESS.external, port: relay.external }, {
      ssrc: 0xc1,
      count: 5,
    });
    await pbxRtp.expectStream(0xc1, 5, `${ADDRESS.internal}:${relay.internal}`, "phone's RTP");
    await pbxRtp.send({ hostname: ADDRESS.internal, port: relay.internal }, {
      ssrc: 0xc2,
      count: 5,
    });
    await sdpRtp.expectStream(0xc2, 5, `${ADDRESS.external}:${relay.external}`, "PBX's RTP");
    assert.deepEqual(otherRtp.received, []);
    await hangUp(call.caller, call.callee);
  });
});

Deno.test("BYE, CANCEL, 486 and a media timeout each free every media port, and hold outlasts the timeout", async () => {
  const ports = usingPorts(25);
  const configToml = mediaConfig(ports, { timeout: 3 });
  const free = (what: string) =>
    waitForMediaStats(ports, (m) => m.portsInUse === 0 && m.sessions === 0, what);
  const busy = (what: string) =>
    waitForMediaStats(ports, (m) => m.portsInUse === 2 && m.sessions === 1, what);
  await withSbc({ ports, configToml }, async (sbc) => {
    {
      await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
      await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
      await using phoneRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
      await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
      const offer = audio(ADDRESS.phone, ports.phoneMedia);
      const answer = audio(ADDRESS.pbx, ports.pbxMedia);
      const sbcAddress = sbcExternal(ports);

      // BYE
      const call = await establishCall(phone, pbx, sbcAddress, offer, answer);
      await exchange(phoneRtp, pbxRtp, relayOf(call), 0x100);
      await busy("one call up");
      await hangUp(call.caller, call.callee);
      await free("after BYE");

      // CANCEL while it rings
      const ringing = await sendInvite(phone, sbcAddress, offer);
      const invite = await pbx.expect(isRequest("INVITE", 1), "the INVITE to cancel");
      await respond(pbx, invite.msg, 180, "Ringing", { toTag: "ring" });
      await phone.expect(isResponse("INVITE", 1, 180), "180");
      await busy("ringing");
      await sendCancel(phone, ringing);
      const cancel = await pbx.expect(isRequest("CANCEL", 1), "the CANCEL");
      await respond(pbx, cancel.msg, 200, "OK", { toTag: "ring" });
      await respond(pbx, invite.msg, 487, "Request Terminated", { toTag: "ring" });
      await pbx.expect(isRequest("ACK", 1), "the SBC's ACK for 487");
      await phone.expect(isResponse("CANCEL", 1, 200), "200 to the CANCEL");
      const terminated = await phone.expect(isResponse("INVITE", 1, 487), "487");
      await ackFailure(phone, ringing, terminated.msg);
      await free("after CANCEL");

      // 486 from the PBX
      const busyHere = await sendInvite(phone, sbcAddress, offer);
      const rejected = await pbx.expect(isRequest("INVITE", 1), "the INVITE to reject");
      await busy("offer waiting for its answer");
      await respond(pbx, rejected.msg, 486, "Busy Here", { toTag: "busy" });
      await pbx.expect(isRequest("ACK", 1), "the SBC's ACK for 486");
      const final = await phone.expect(isResponse("INVITE", 1, 486), "486");
      await ackFailure(phone, busyHere, final.msg);
      await free("after 486");

      // media that stops: [media] timeout = 3 s. A call on hold is silent on purpose and
      // waits for hold_timeout (default 3600 s) instead.
      const held = await establishCall(
        phone,
        pbx,
        sbcAddress,
        audio(ADDRESS.phone, ports.phoneMedia, 1, "sendonly"),
        audio(ADDRESS.pbx, ports.pbxMedia).replace("a=rtpmap:8 PCMA/8000", "$&\r\na=recvonly"),
      );
      const silent = await establishCall(phone, pbx, sbcAddress, offer, answer);
      await exchange(phoneRtp, pbxRtp, relayOf(silent), 0x200);
      const stopped = Date.now();
      await waitForMediaStats(ports, (m) => m.sessions === 2, "held and silent calls up");
      await waitForMediaStats(
        ports,
        (m) => m.portsInUse === 2 && m.sessions === 1,
        "silent call dropped, held call kept",
        8_000,
      );
      const silence = Date.now() - stopped;
      assert.ok(silence >= 2_500, `session dropped after ${silence} ms of silence`);
      assert.match(await sbc.logs(), /rtp\.stream\.timeout/);
      const [kept] = await mediaCalls(ports);
      assert.equal(kept?.callId, held.caller.callId);
      assert.equal(kept?.streams[0]?.hold, true);
      // the dialogs outlive their media: the BYEs still cross
      await hangUp(silent.caller, silent.callee);
      await hangUp(held.callee, held.caller);
      await free("after the held call's BYE");
    }

    // the same with sipp: 10 calls each, ended by the PBX's BYE, by CANCEL and by 486
    const runs: [string, string, string[]][] = [
      ["uas-answer-then-send-bye.xml", "uac-call-expect-bye.xml", ["-d", "300"]],
      ["uas-ring-then-487-on-cancel.xml", "uac-cancel-before-answer.xml", []],
      ["uas-reject-486.xml", "uac-expect-486.xml", []],
    ];
    for (const [callee, caller, args] of runs) {
      let peak = 0;
      let polling = true;
      const poll = (async () => {
        for (let i = 0; polling && i < 400; i++) {
          peak = Math.max(peak, (await mediaStats(ports)).portsInUse);
          await sleep(20);
        }
      })();
      try {
        await using pbx = await startSippServer({
          scenario: callee,
          role: "pbx",
          ports,
          calls: 10,
          args,
        });
        const phone = await runSipp({
          scenario: caller,
          role: "phone",
          ports,
          remote: `${ADDRESS.external}:${ports.sbc}`,
          calls: 10,
          rate: 20,
        });
        assertAllCallsSucceeded(10, { phone, PBX: await pbx.wait(10_000) });
      } finally {
        polling = false;
        await poll;
      }
      await free(`after ${caller}`);
      if (args.length > 0) assert.ok(peak > 0, `${caller}: no ports in use during the calls`);
    }
  });
});

Deno.test("with every port pair taken a new call or stream gets 503, and calls go through again once ports are freed", async () => {
  const ports = usingPorts(27);
  const [low] = ports.mediaRange;
  // per media address: two pairs, (low, low+1) and (low+2, low+3); a call takes one on each side
  const configToml = mediaConfig(ports, { mediaRange: [low, low + 3] });
  const base = ports.sbc;
  await withSbc({ ports, configToml }, async () => {
    // sipp plays the refused phone on ports.phone, so the Deno phone takes a free port of the block
    await using phone = new SipEndpoint(ADDRESS.phone, base + 6);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    await using phoneRtp = new RtpEndpoint(ADDRESS.phone, 0);
    await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, 0);
    const offer = audio(ADDRESS.phone, phoneRtp.address.port);
    const answer = audio(ADDRESS.pbx, pbxRtp.address.port);
    const first = await establishCall(phone, pbx, sbcExternal(ports), offer, answer);
    const second = await establishCall(phone, pbx, sbcExternal(ports), offer, answer);
    const full = await mediaStats(ports);
    assert.deepEqual([full.portsInUse, full.portsFree, full.sessions], [4, 0, 2]);
    for (const body of [first.offerAtCallee, second.offerAtCallee, first.answerAtCaller]) {
      const [port] = relayPorts(body);
      assert.ok(port === low || port === low + 2, body);
    }

    const refused = await runSipp({
      scenario: "uac-expect-503.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls: 1,
    });
    assertAllCallsSucceeded(1, { phone: refused });
    assert.match(received(refused, "503")[0]!.text, /^SIP\/2\.0 503 Media ports exhausted/);
    // refused at the SBC: the PBX saw only the two calls
    assert.equal(pbx.log.filter(({ msg }) => isRequest("INVITE", 1)(msg)).length, 2);
    const after = await mediaStats(ports);
    assert.deepEqual([after.portsInUse, after.sessions], [4, 2]);

    // a re-INVITE adding video finds no port either: 503 for it, the call's audio goes on
    const video = await sendInDialog(
      second.caller,
      "INVITE",
      sdpBody({
        address: ADDRESS.phone,
        version: 2,
        media: [
          { type: "audio", port: phoneRtp.address.port },
          { type: "video", port: phoneRtp.address.port + 2 },
        ],
      }),
    );
    const noVideo = await phone.expect(isResponse("INVITE", video.cseq, 300, 699), "re-INVITE");
    assert.equal(noVideo.msg.status, 503);
    await ackFailure(phone, video, noVideo.msg);
    assert.equal(pbx.log.filter(({ msg }) => msg.method === "INVITE").length, 2);
    await exchange(phoneRtp, pbxRtp, relayOf(second), 0x300);
    assert.equal((await mediaStats(ports)).streams, 2);

    await hangUp(first.caller, first.callee);
    await waitForMediaStats(ports, (m) => m.portsFree === 2, "first call's ports free");
    const third = await establishCall(phone, pbx, sbcExternal(ports), offer, answer);
    await exchange(phoneRtp, pbxRtp, relayOf(third), 0x400);
    await hangUp(second.caller, second.callee);
    await hangUp(third.callee, third.caller);
    await waitForMediaStats(ports, (m) => m.portsInUse === 0, "all ports free");
  });
});

Deno.test("a call with audio and video relays both streams, each on its own ports, RTCP included", async () => {
  const ports = usingPorts(28);
  await withSbc({ ports }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    // RTP on p, RTCP on p + 1: audio at phoneMedia, video at phoneMedia + 2 (same for the PBX)
    const open = (host: string, first: number) =>
      [0, 1, 2, 3].map((i) => new RtpEndpoint(host, first + i));
    const phoneRtp = open(ADDRESS.phone, ports.phoneMedia);
    const pbxRtp = open(ADDRESS.pbx, ports.pbxMedia);
    try {
      const av = (address: string, port: number) =>
        sdpBody({
          address,
          media: [{ type: "audio", port }, { type: "video", port: port + 2 }],
        });
      const call = await establishCall(
        phone,
        pbx,
        sbcExternal(ports),
        av(ADDRESS.phone, ports.phoneMedia),
        av(ADDRESS.pbx, ports.pbxMedia),
      );
      const external = relayPorts(call.answerAtCaller);
      const internal = relayPorts(call.offerAtCallee);
      // each media address has its own pool, so only ports on the same side must differ
      assert.equal(new Set(external).size, 2, call.answerAtCaller);
      assert.equal(new Set(internal).size, 2, call.offerAtCallee);
      const stats = await mediaStats(ports);
      assert.deepEqual([stats.streams, stats.portsInUse], [2, 4]);

      // on each of audio RTP, audio RTCP, video RTP, video RTCP: both ways, nothing elsewhere
      for (const [i, [stream, offset]] of ([[0, 0], [0, 1], [1, 0], [1, 1]] as const).entries()) {
        const ext = external[stream]! + offset;
        const int = internal[stream]! + offset;
        const ssrc = 0x7000 + 0x10 * i;
        await phoneRtp[i]!.send({ hostname: ADDRESS.external, port: ext }, { ssrc, count: 8 });
        await pbxRtp[i]!.expectStream(ssrc, 8, `${ADDRESS.internal}:${int}`, `phone → PBX #${i}`);
        await pbxRtp[i]!.send({ hostname: ADDRESS.internal, port: int }, {
          ssrc: ssrc + 1,
          count: 8,
        });
        await phoneRtp[i]!.expectStream(
          ssrc + 1,
          8,
          `${ADDRESS.external}:${ext}`,
          `PBX → phone #${i}`,
        );
      }
      for (const [i, endpoint] of [...phoneRtp, ...pbxRtp].entries()) {
        assert.equal(
          endpoint.received.length,
          8,
          `endpoint ${i}: ${describePackets(endpoint.received)}`,
        );
      }
      const [info] = await mediaCalls(ports);
      assert.deepEqual(info?.streams.map((s) => s.type), ["audio", "video"]);
      await hangUp(call.caller, call.callee);
      await waitForMediaStats(ports, (m) => m.portsInUse === 0, "ports free after the BYE");
    } finally {
      for (const endpoint of [...phoneRtp, ...pbxRtp]) await endpoint.close();
    }
  });
});

Deno.test("an advertised address is what the SDP names on that side, and media sent to it is relayed", async () => {
  const ports = usingPorts(29);
  // a 1:1 NAT in front of the internal side: 127.0.2.2 reaches the SBC's 127.0.2.1
  const advertised = "127.0.2.2";
  const configToml = mediaConfig(ports, { internal: { advertise: advertised } });
  await withSbc({ ports, configToml }, async () => {
    await using phone = new SipEndpoint(ADDRESS.phone, ports.phone);
    await using pbx = new SipEndpoint(ADDRESS.pbx, ports.pbx);
    pbx.nat.set(advertised, ADDRESS.internal);
    await using phoneRtp = new RtpEndpoint(ADDRESS.phone, ports.phoneMedia);
    await using pbxRtp = new RtpEndpoint(ADDRESS.pbx, ports.pbxMedia);
    const call = await establishCall(
      phone,
      pbx,
      sbcExternal(ports),
      audio(ADDRESS.phone, ports.phoneMedia),
      audio(ADDRESS.pbx, ports.pbxMedia),
    );
    assert.equal(viewSdp(call.offerAtCallee).media[0]!.connection, advertised, call.offerAtCallee);
    assert.equal(viewSdp(call.answerAtCaller).media[0]!.connection, ADDRESS.external);
    // exchange() sends to the real addresses, as the NAT would deliver them
    await exchange(phoneRtp, pbxRtp, relayOf(call), 0x900);
    // the PBX ends the call through the advertised Record-Route entry
    await hangUp(call.callee, call.caller);
    await waitForMediaStats(ports, (m) => m.portsInUse === 0, "ports free after the BYE");
  });
});
