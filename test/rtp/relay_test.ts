import assert from "node:assert/strict";
import { MediaRelay } from "../../rtp/relay.ts";
import { ManualClock } from "../kit/manual_clock.ts";
import {
  addr,
  ATTACKER,
  body,
  ctx,
  type Dialog,
  dialog,
  Endpoint,
  EXT,
  INT,
  media,
  PBX,
  PHONE,
  portsInUse,
  RANGE,
  request,
  response,
  sdp,
  setup,
} from "./_relay_kit.ts";

function establish(relay: MediaRelay, d: Dialog, phonePort: number, pbxPort: number) {
  const offer = body(
    relay.manage(ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", phonePort]])), "external")),
  );
  const toPbx = media(offer);
  assert.equal(toPbx.address, INT);
  const answer = body(
    relay.manage(ctx(response(d, 200, "INVITE", 1, sdp(PBX, [["audio", pbxPort]])), "internal")),
  );
  const toPhone = media(answer);
  assert.equal(toPhone.address, EXT);
  return { ext: toPhone.ports[0]!, int: toPbx.ports[0]! };
}

Deno.test("MediaRelay relays RTP and RTCP both ways from the SBC's own addresses", async () => {
  const { relay } = setup();
  const phone = new Endpoint(PHONE, 42000);
  const phoneRtcp = new Endpoint(PHONE, 42001);
  const pbx = new Endpoint(PBX, 42002);
  const pbxRtcp = new Endpoint(PBX, 42003);
  try {
    const d = dialog();
    const { ext, int } = establish(relay, d, 42000, 42002);
    assert.equal(ext % 2, 0);
    assert.ok(ext >= RANGE[0] && ext <= RANGE[1]);

    await phone.send(EXT, ext, "rtp-1");
    assert.equal(await pbx.waitFor(1), 1);
    assert.equal(pbx.last().text, "rtp-1");
    assert.equal(addr(pbx.last().from), `${INT}:${int}`);

    await pbx.send(INT, int, "rtp-2");
    assert.equal(await phone.waitFor(1), 1);
    assert.equal(phone.last().text, "rtp-2");
    assert.equal(addr(phone.last().from), `${EXT}:${ext}`);

    await phoneRtcp.send(EXT, ext + 1, "rtcp-1");
    assert.equal(await pbxRtcp.waitFor(1), 1);
    assert.equal(addr(pbxRtcp.last().from), `${INT}:${int + 1}`);
    await pbxRtcp.send(INT, int + 1, "rtcp-2");
    assert.equal(await phoneRtcp.waitFor(1), 1);

    const stats = relay.stats();
    assert.equal(stats.packetsRelayed, 4);
    assert.equal(stats.bytesRelayed, 22);
    assert.equal(stats.sessions, 1);
    assert.equal(stats.streams, 1);
    assert.equal(stats.portsInUse, 2);
    const [call] = relay.calls();
    assert.equal(call!.state, "confirmed");
    // RTP and RTCP counted apart: RTCP never keeps the RTP stream alive.
    assert.equal(call!.streams[0]!.legs[0].packets, 1);
    assert.equal(call!.streams[0]!.legs[0].rtcpPackets, 1);
    assert.equal(call!.streams[0]!.legs[0].latched, `${PHONE}:42000`);
    assert.equal(call!.streams[0]!.legs[1].peer, `${PBX}:42002`);
  } finally {
    relay.close();
    await Promise.all([phone.close(), phoneRtcp.close(), pbx.close(), pbxRtcp.close()]);
  }
});

Deno.test("MediaRelay latches on the real source and refuses a third party while it is alive", async () => {
  const { relay, clock } = setup();
  const nat = new Endpoint(PHONE, 42100); // the phone's media really comes from here
  const pbx = new Endpoint(PBX, 42102);
  const attacker = new Endpoint(ATTACKER, 42104);
  try {
    const d = dialog();
    const { ext, int } = establish(relay, d, 42098, 42102);
    await nat.send(EXT, ext, "from-nat");
    assert.equal(await pbx.waitFor(1), 1);
    await pbx.send(INT, int, "to-phone");
    assert.equal(await nat.waitFor(1), 1, "sent to the latched source, not the SDP port");

    await attacker.send(EXT, ext, "hijack");
    assert.equal(await pbx.waitFor(2, 200), 1, "third-party packet dropped");
    await pbx.send(INT, int, "still-to-phone");
    assert.equal(await nat.waitFor(2), 2);
    assert.equal(await attacker.waitFor(1, 100), 0);
    assert.equal(relay.stats().drops, 1);

    // A stranger never takes over, not even after the phone's silence (strict source)...
    clock.advance(4000);
    await attacker.send(EXT, ext, "after-silence");
    assert.equal(await pbx.waitFor(2, 200), 1, "a stranger's packet is dropped");
    assert.equal(relay.calls()[0]!.streams[0]!.legs[0].strangers, 2);
    // ...while the phone's own host from a new port (a NAT rebinding) re-latches at once.
    const rebound = new Endpoint(PHONE, 42106);
    try {
      await rebound.send(EXT, ext, "new-port");
      assert.equal(await pbx.waitFor(2), 2);
      assert.equal(pbx.last().text, "new-port");
      await pbx.send(INT, int, "to-new-port");
      assert.equal(await rebound.waitFor(1), 1);
    } finally {
      await rebound.close();
    }
  } finally {
    relay.close();
    await Promise.all([nat.close(), pbx.close(), attacker.close()]);
  }
});

Deno.test("MediaRelay with flag a sends to the SDP address and does not latch", async () => {
  const { relay } = setup();
  const phone = new Endpoint(PHONE, 42200);
  const other = new Endpoint(PHONE, 42202);
  const pbx = new Endpoint(PBX, 42204);
  try {
    const d = dialog();
    const offer = relay.manage(
      ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42200]])), "external", "a"),
    );
    const int = media(body(offer)).ports[0]!;
    const answer = relay.manage(
      ctx(response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 42204]])), "internal"),
    );
    const ext = media(body(answer)).ports[0]!;
    await other.send(EXT, ext, "from-elsewhere");
    assert.equal(await pbx.waitFor(1), 1);
    await pbx.send(INT, int, "back");
    assert.equal(await phone.waitFor(1), 1, "asymmetric: SDP address");
    assert.equal(relay.calls()[0]!.streams[0]!.legs[0].latched, null);
  } finally {
    relay.close();
    await Promise.all([phone.close(), other.close(), pbx.close()]);
  }
});

Deno.test("MediaRelay frees the ports of a silent stream after the timeout", async () => {
  const { relay, clock } = setup();
  const d = dialog();
  establish(relay, d, 42300, 42302);
  assert.equal(relay.stats().portsInUse, 2);
  clock.advance(59_000);
  assert.equal(relay.stats().sessions, 1);
  clock.advance(3000);
  assert.equal(await portsInUse(relay, 0), 0);
  assert.deepEqual(
    relay.stats(),
    {
      portsInUse: 0,
      portsFree: 20,
      sessions: 0,
      streams: 0,
      packetsRelayed: 0,
      bytesRelayed: 0,
      drops: 0,
      srtpFailures: 0,
      offersRefused: 0,
    },
  );
  assert.equal(clock.pending, 0, "sweep stops with the last session");
  relay.close();
});

Deno.test("MediaRelay reaps an offer that is never answered after offerTimeout", async () => {
  const { relay, clock } = setup();
  const d = dialog();
  relay.manage(ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42400]])), "external"));
  relay.manage(ctx(response(d, 183, "INVITE", 1, sdp(PBX, [["audio", 42402]])), "internal"));
  clock.advance(120_000);
  assert.equal(relay.stats().sessions, 1, "early media: the silence timeout does not apply");
  clock.advance(61_000);
  assert.equal(relay.stats().sessions, 0);
  assert.equal(await portsInUse(relay, 0), 0);
  relay.close();
});

Deno.test("MediaRelay frees ports on BYE, CANCEL, a failed INVITE and deleteCall()", async (t) => {
  const { relay } = setup();
  await t.step("BYE", async () => {
    const d = dialog();
    establish(relay, d, 42500, 42502);
    relay.manage(ctx(request(d, "BYE", 2), "external"));
    assert.equal(await portsInUse(relay, 0), 0);
  });
  await t.step("BYE from the callee", async () => {
    const d = dialog();
    establish(relay, d, 42500, 42502);
    relay.manage(ctx(request(d, "BYE", 1, "", { byCallee: true }), "internal"));
    assert.equal(await portsInUse(relay, 0), 0);
  });
  await t.step("CANCEL", async () => {
    const d = dialog();
    relay.manage(ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42500]])), "external"));
    assert.equal(relay.stats().portsInUse, 2);
    relay.manage(ctx(request(d, "CANCEL", 1, "", { inDialog: false }), "external"));
    assert.equal(await portsInUse(relay, 0), 0);
  });
  await t.step("486", async () => {
    const d = dialog();
    relay.manage(ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42500]])), "external"));
    relay.manage(ctx(response(d, 486, "INVITE", 1), "internal", "", false));
    assert.equal(await portsInUse(relay, 0), 0);
  });
  await t.step("deleteCall", async () => {
    const d = dialog();
    relay.manage(ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42500]])), "external"));
    relay.deleteCall(d.callId);
    assert.equal(await portsInUse(relay, 0), 0);
    assert.equal(relay.stats().sessions, 0);
  });
  relay.close();
});

Deno.test("MediaRelay keeps the media when a re-INVITE fails", async () => {
  const { relay } = setup();
  const d = dialog();
  const first = establish(relay, d, 42600, 42602);
  const reoffer = relay.manage(
    ctx(request(d, "INVITE", 2, sdp(PHONE, [["audio", 42600], ["video", 42606]])), "external"),
  );
  assert.deepEqual(media(body(reoffer)).ports[0], first.int, "same port for the same m= line");
  assert.equal(relay.stats().portsInUse, 4);
  relay.manage(ctx(response(d, 488, "INVITE", 2), "internal", "", true));
  assert.equal(relay.stats().sessions, 1);
  assert.equal(await portsInUse(relay, 2), 2, "the video stream of the failed offer is freed");
  relay.close();
});

Deno.test("MediaRelay answers 503 when ports run out and releases the partial allocation", async () => {
  // One pair per media address.
  const { relay } = setup([41100, 41101]);
  const d = dialog();
  const av = relay.manage(
    ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42700], ["video", 42702]])), "external"),
  );
  assert.deepEqual(av, { kind: "reject", status: 503, reason: "Media ports exhausted" });
  assert.equal(relay.stats().portsInUse, 0);
  assert.equal(relay.stats().sessions, 0);

  const ok = relay.manage(ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42700]])), "external"));
  assert.equal(ok.kind, "body");
  const again = relay.manage(
    ctx(request(dialog(), "INVITE", 1, sdp(PHONE, [["audio", 42704]])), "external"),
  );
  assert.deepEqual(again, { kind: "reject", status: 503, reason: "Media ports exhausted" });
  relay.close();
  assert.equal(await portsInUse(relay, 0), 0);
});

Deno.test("MediaRelay handles hold and resume", async () => {
  const { relay, clock } = setup();
  const phone = new Endpoint(PHONE, 42800);
  const pbx = new Endpoint(PBX, 42802);
  try {
    const d = dialog();
    const { ext, int } = establish(relay, d, 42800, 42802);

    // Hold with a=sendonly: ports kept, direction passed through, the hold timeout applies.
    const hold = body(
      relay.manage(
        ctx(request(d, "INVITE", 2, sdp(PHONE, [["audio", 42800]], ["a=sendonly"])), "external"),
      ),
    );
    assert.match(hold, /a=sendonly/);
    assert.equal(media(hold).ports[0], int);
    const holdAnswer = body(relay.manage(ctx(
      response(d, 200, "INVITE", 2, sdp(PBX, [["audio", 42802]], ["a=recvonly"])),
      "internal",
    )));
    assert.equal(media(holdAnswer).ports[0], ext);
    assert.equal(relay.calls()[0]!.streams[0]!.hold, true);
    clock.advance(120_000);
    assert.equal(relay.stats().sessions, 1, "hold timeout, not the 60 s one");

    // Old-style hold: c=0.0.0.0 is kept and nothing is sent to that side.
    const nullHold = body(
      relay.manage(ctx(request(d, "INVITE", 3, sdp("0.0.0.0", [["audio", 42800]])), "external")),
    );
    assert.match(nullHold, /^c=IN IP4 0\.0\.0\.0\r$/m);
    relay.manage(ctx(response(d, 200, "INVITE", 3, sdp(PBX, [["audio", 42802]])), "internal"));
    await pbx.send(INT, int, "to-held-phone");
    assert.equal(await phone.waitFor(1, 200), 0);
    assert.equal(relay.calls()[0]!.streams[0]!.legs[1].drops, 1);

    // Resume.
    const resume = body(
      relay.manage(ctx(request(d, "INVITE", 4, sdp(PHONE, [["audio", 42800]])), "external")),
    );
    assert.equal(media(resume).address, INT);
    relay.manage(ctx(response(d, 200, "INVITE", 4, sdp(PBX, [["audio", 42802]])), "internal"));
    assert.equal(relay.calls()[0]!.streams[0]!.hold, false);
    await pbx.send(INT, int, "resumed");
    assert.equal(await phone.waitFor(1), 1);
  } finally {
    relay.close();
    await Promise.all([phone.close(), pbx.close()]);
  }
});

Deno.test("MediaRelay relays audio and video on separate port pairs", async () => {
  const { relay } = setup();
  const phoneA = new Endpoint(PHONE, 42900);
  const phoneV = new Endpoint(PHONE, 42902);
  const pbxA = new Endpoint(PBX, 42904);
  const pbxV = new Endpoint(PBX, 42906);
  try {
    const d = dialog();
    const offer = body(relay.manage(ctx(
      request(d, "INVITE", 1, sdp(PHONE, [["audio", 42900], ["video", 42902]])),
      "external",
    )));
    const answer = body(relay.manage(ctx(
      response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 42904], ["video", 42906]])),
      "internal",
    )));
    const [intA, intV] = media(offer).ports;
    const [extA, extV] = media(answer).ports;
    assert.equal(new Set([intA, intV, extA, extV]).size >= 2, true);
    assert.notEqual(intA, intV);
    await phoneV.send(EXT, extV!, "video");
    await phoneA.send(EXT, extA!, "audio");
    assert.equal(await pbxV.waitFor(1), 1);
    assert.equal(await pbxA.waitFor(1), 1);
    assert.equal(pbxV.last().text, "video");
    await pbxV.send(INT, intV!, "video-back");
    assert.equal(await phoneV.waitFor(1), 1);
    assert.equal(relay.stats().streams, 2);
  } finally {
    relay.close();
    await Promise.all([phoneA.close(), phoneV.close(), pbxA.close(), pbxV.close()]);
  }
});

Deno.test("MediaRelay keeps a rejected stream at port 0 and allocates nothing for it", async () => {
  const { relay } = setup();
  const d = dialog();
  const offer = body(relay.manage(ctx(
    request(d, "INVITE", 1, sdp(PHONE, [["audio", 43000], ["video", 0]])),
    "external",
  )));
  assert.equal(media(offer).ports[1], 0);
  assert.equal(relay.stats().portsInUse, 2);
  // The answerer rejects audio: its ports go.
  const answer = body(relay.manage(ctx(
    response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 0], ["video", 0]])),
    "internal",
  )));
  assert.deepEqual(media(answer).ports, [0, 0]);
  assert.equal(await portsInUse(relay, 0), 0);
  relay.close();
});

Deno.test("MediaRelay handles an offer in the 200 and the answer in the ACK", () => {
  const { relay } = setup();
  const d = dialog();
  assert.deepEqual(relay.manage(ctx(request(d, "INVITE", 1), "external")), { kind: "none" });
  const offer = body(relay.manage(ctx(
    response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 43100]])),
    "internal",
  )));
  assert.equal(media(offer).address, EXT);
  const answer = body(relay.manage(ctx(
    request(d, "ACK", 1, sdp(PHONE, [["audio", 43102]])),
    "external",
  )));
  assert.equal(media(answer).address, INT);
  const [call] = relay.calls();
  assert.equal(call!.state, "confirmed");
  assert.equal(call!.streams[0]!.legs[0].peer, `${PHONE}:43102`);
  assert.equal(call!.streams[0]!.legs[1].peer, `${PBX}:43100`);
  relay.close();
});

Deno.test("MediaRelay leaves SDP marked a=nortpproxy:yes alone unless flag f", () => {
  const { relay } = setup();
  const marked = sdp(PHONE, [["audio", 43200]], ["a=nortpproxy:yes"]);
  const d = dialog();
  assert.deepEqual(relay.manage(ctx(request(d, "INVITE", 1, marked), "external")), {
    kind: "none",
  });
  // Its 200 is not taken for an offer.
  assert.deepEqual(
    relay.manage(ctx(response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 43202]])), "internal")),
    { kind: "none" },
  );
  assert.equal(relay.stats().sessions, 0);
  const forced = relay.manage(ctx(request(dialog(), "INVITE", 1, marked), "external", "f"));
  assert.equal(forced.kind, "body");
  relay.close();
});

Deno.test("MediaRelay rejects a broken offer with 488 and leaves a broken answer unchanged", () => {
  const { relay } = setup();
  const d = dialog();
  assert.deepEqual(
    relay.manage(ctx(request(d, "INVITE", 1, "v=0\r\ns=-\r\nt=0 0\r\n"), "external")),
    { kind: "reject", status: 488, reason: "Not Acceptable Here" },
  );
  const d2 = dialog();
  relay.manage(ctx(request(d2, "INVITE", 1, sdp(PHONE, [["audio", 43300]])), "external"));
  assert.deepEqual(
    relay.manage(ctx(response(d2, 200, "INVITE", 1, "v=0\r\nm=audio x\r\n"), "internal")),
    { kind: "none" },
  );
  relay.close();
});

Deno.test("MediaRelay writes the advertised address of the receiving side", () => {
  const clock = new ManualClock();
  const relay = new MediaRelay({
    sides: {
      external: { media: EXT, advertise: "203.0.113.10" },
      internal: { media: INT, advertise: undefined },
    },
    ports: RANGE,
    timeout: 60,
    holdTimeout: 600,
    offerTimeout: 180,
    clock,
  });
  const d = dialog();
  const offer = body(
    relay.manage(ctx(request(d, "INVITE", 1, sdp(PBX, [["audio", 43400]])), "internal")),
  );
  assert.equal(media(offer).address, "203.0.113.10");
  const answer = body(relay.manage(
    ctx(response(d, 200, "INVITE", 1, sdp(PHONE, [["audio", 43402]])), "external"),
  ));
  assert.equal(media(answer).address, INT);
  relay.close();
});

Deno.test("MediaRelay handles an offer in a reliable 183, its answer in PRACK and a repeat in 200", () => {
  const { relay } = setup();
  const d = dialog();
  relay.manage(ctx(request(d, "INVITE", 1), "external"));
  const pbxSdp = sdp(PBX, [["audio", 43500]]);
  const offer = media(body(relay.manage(ctx(response(d, 183, "INVITE", 1, pbxSdp), "internal"))));
  const answer = media(body(relay.manage(ctx(
    request(d, "PRACK", 2, sdp(PHONE, [["audio", 43502]])),
    "external",
  ))));
  assert.equal(answer.address, INT);
  const repeat = media(body(relay.manage(ctx(response(d, 200, "INVITE", 1, pbxSdp), "internal"))));
  assert.deepEqual(repeat, offer, "same ports for the repeated offer");
  const [call] = relay.calls();
  assert.equal(call!.state, "confirmed");
  assert.equal(call!.streams[0]!.legs[0].peer, `${PHONE}:43502`);
  assert.equal(relay.stats().portsInUse, 2);
  relay.close();
});

Deno.test("MediaRelay reuses the ports for a re-INVITE from the callee and moves its peer on answer", () => {
  const { relay } = setup();
  const d = dialog();
  const first = establish(relay, d, 43600, 43602);
  const reoffer = media(body(relay.manage(ctx(
    request(d, "INVITE", 1, sdp(PBX, [["audio", 43610]]), { byCallee: true, inDialog: true }),
    "internal",
  ))));
  assert.deepEqual(reoffer, { address: EXT, ports: [first.ext] });
  assert.equal(
    relay.calls()[0]!.streams[0]!.legs[1].peer,
    `${PBX}:43602`,
    "old address kept until the answer (RFC 3264 §8.3.1)",
  );
  const answer = media(body(relay.manage(ctx(
    response(d, 200, "INVITE", 1, sdp(PHONE, [["audio", 43600]]), true),
    "external",
  ))));
  assert.deepEqual(answer, { address: INT, ports: [first.int] });
  assert.equal(relay.calls()[0]!.streams[0]!.legs[1].peer, `${PBX}:43610`);
  relay.close();
});

const NO_TRAFFIC = { external: { packets: 0, bytes: 0 }, internal: { packets: 0, bytes: 0 } };

Deno.test("MediaRelay.traffic() counts packets and bytes by the side they came from, closed streams included", async () => {
  const { relay } = setup();
  const phoneA = new Endpoint(PHONE, 43700);
  const phoneV = new Endpoint(PHONE, 43702);
  const pbxA = new Endpoint(PBX, 43704);
  const pbxV = new Endpoint(PBX, 43706);
  try {
    const d = dialog();
    const offer = body(relay.manage(ctx(
      request(d, "INVITE", 1, sdp(PHONE, [["audio", 43700], ["video", 43702]])),
      "external",
    )));
    const answer = body(relay.manage(ctx(
      response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 43704], ["video", 43706]])),
      "internal",
    )));
    const [intA] = media(offer).ports;
    const [extA, extV] = media(answer).ports;
    await phoneA.send(EXT, extA!, "aaaa");
    await phoneV.send(EXT, extV!, "vvvvvv");
    assert.equal(await pbxA.waitFor(1), 1);
    assert.equal(await pbxV.waitFor(1), 1);
    await pbxA.send(INT, intA!, "bb");
    assert.equal(await phoneA.waitFor(1), 1);
    // The phone drops video: the answer closes that stream, its packets still count.
    relay.manage(ctx(
      request(d, "INVITE", 2, sdp(PHONE, [["audio", 43700], ["video", 0]]), { inDialog: true }),
      "external",
    ));
    relay.manage(ctx(
      response(d, 200, "INVITE", 2, sdp(PBX, [["audio", 43704], ["video", 0]])),
      "internal",
    ));
    assert.equal(relay.stats().streams, 1);
    assert.deepEqual(relay.traffic(d.callId), {
      external: { packets: 2, bytes: 10 },
      internal: { packets: 1, bytes: 2 },
    });
    assert.deepEqual(relay.traffic("unknown@test"), NO_TRAFFIC);
  } finally {
    relay.close();
    await Promise.all([phoneA.close(), phoneV.close(), pbxA.close(), pbxV.close()]);
  }
});

Deno.test("MediaRelay calls onTimeout for a call gone silent, before its traffic is forgotten", async () => {
  const clock = new ManualClock();
  const seen: { callId: string; traffic: unknown }[] = [];
  const relay: MediaRelay = new MediaRelay({
    sides: {
      external: { media: EXT, advertise: undefined },
      internal: { media: INT, advertise: undefined },
    },
    ports: RANGE,
    timeout: 60,
    holdTimeout: 600,
    offerTimeout: 180,
    clock,
    onTimeout: (callId) => seen.push({ callId, traffic: relay.traffic(callId) }),
  });
  const phone = new Endpoint(PHONE, 43710);
  const pbx = new Endpoint(PBX, 43712);
  try {
    const d = dialog();
    const { ext } = establish(relay, d, 43710, 43712);
    await phone.send(EXT, ext, "x");
    assert.equal(await pbx.waitFor(1), 1);
    // An offer never answered is reaped too, but that is not the end of a call.
    const unanswered = dialog();
    relay.manage(ctx(request(unanswered, "INVITE", 1, sdp(PHONE, [["audio", 43714]])), "external"));
    clock.advance(62_000);
    assert.deepEqual(seen, [{
      callId: d.callId,
      traffic: { external: { packets: 1, bytes: 1 }, internal: { packets: 0, bytes: 0 } },
    }]);
    clock.advance(120_000);
    assert.equal(relay.stats().sessions, 0);
    assert.equal(seen.length, 1);
  } finally {
    relay.close();
    await Promise.all([phone.close(), pbx.close()]);
  }
});

Deno.test("MediaRelay refuses an offer with more m= lines than max_streams, before binding a port", () => {
  const { relay } = setup(RANGE, { maxStreams: 4 });
  try {
    const many = sdp(PHONE, Array.from({ length: 5 }, (_, i) => ["audio", 42300 + 2 * i]));
    const outcome = relay.manage(ctx(request(dialog(), "INVITE", 1, many), "external"));
    assert.deepEqual(outcome, { kind: "reject", status: 488, reason: "Too Many Media Streams" });
    assert.equal(relay.stats().portsInUse, 0);
    assert.equal(relay.stats().offersRefused, 1);
    const four = sdp(PHONE, Array.from({ length: 4 }, (_, i) => ["audio", 42300 + 2 * i]));
    assert.equal(relay.manage(ctx(request(dialog(), "INVITE", 1, four), "external")).kind, "body");
  } finally {
    relay.close();
  }
});

Deno.test("MediaRelay caps unanswered offers per outside source; an answer frees the slot, trusted sources pass", () => {
  const { relay } = setup(RANGE, { maxOffersPerSource: 2 });
  try {
    const offer = (d: Dialog, trusted = false) =>
      relay.manage({
        ...ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42400]])), "external"),
        trustedSource: trusted,
      });
    const first = dialog();
    assert.equal(offer(first).kind, "body");
    assert.equal(offer(dialog()).kind, "body");
    assert.deepEqual(offer(dialog()), { kind: "reject", status: 503, reason: "Too Many Offers" });
    assert.equal(offer(dialog(), true).kind, "body", "a trusted source is exempt");
    // The PBX answers the first call: its slot is free again.
    relay.manage(ctx(response(first, 200, "INVITE", 1, sdp(PBX, [["audio", 42402]])), "internal"));
    assert.equal(offer(dialog()).kind, "body");
    assert.equal(relay.stats().offersRefused, 1);
  } finally {
    relay.close();
  }
});

Deno.test("MediaRelay caps media sessions per outside source, answered or not, until they end", () => {
  const { relay } = setup(RANGE, { maxSessionsPerSource: 2 });
  try {
    const call = (d: Dialog) => {
      const offered = relay.manage(
        ctx(request(d, "INVITE", 1, sdp(PHONE, [["audio", 42500]])), "external"),
      );
      if (offered.kind !== "body") return offered;
      relay.manage(ctx(response(d, 200, "INVITE", 1, sdp(PBX, [["audio", 42502]])), "internal"));
      return offered;
    };
    const first = dialog();
    assert.equal(call(first).kind, "body");
    assert.equal(call(dialog()).kind, "body");
    assert.deepEqual(call(dialog()), { kind: "reject", status: 503, reason: "Too Many Sessions" });
    // The first call ends: its slot is free again.
    relay.manage(ctx(request(first, "BYE", 2), "external"));
    assert.equal(call(dialog()).kind, "body");
  } finally {
    relay.close();
  }
});
