import assert from "node:assert/strict";
import { isNullAddress, parseSdp, rewriteSdp, type Sdp } from "../../rtp/sdp.ts";

const AUDIO_VIDEO = [
  "v=0",
  "o=alice 2890844526 2890844527 IN IP4 192.168.1.10",
  "s=-",
  "c=IN IP4 192.168.1.10",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0 8 101",
  "a=rtpmap:101 telephone-event/8000",
  "a=rtcp:49171 IN IP4 192.168.1.10",
  "a=sendrecv",
  "m=video 51372 RTP/AVP 96",
  "c=IN IP4 192.168.1.11",
  "a=rtpmap:96 H264/90000",
  "a=rtcp-mux",
  "a=rtcp:51372",
  "",
].join("\r\n");

function parsed(body: string): Sdp {
  const r = parseSdp(body);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function rewrite(body: string, ports: (number | undefined)[], extra = {}): string {
  return rewriteSdp(parsed(body), {
    address: "203.0.113.1",
    ports,
    sessionConnection: false,
    origin: false,
    ...extra,
  });
}

Deno.test("parseSdp() extracts each stream with its effective address and RTCP port", () => {
  const sdp = parsed(AUDIO_VIDEO);
  assert.equal(sdp.streams.length, 2);
  const [audio, video] = sdp.streams;
  assert.deepEqual(audio, {
    index: 0,
    type: "audio",
    protocol: "RTP/AVP",
    port: 49170,
    address: "192.168.1.10",
    direction: "sendrecv",
    rtcpMux: false,
    rtcpPort: 49171,
    rtcpAddress: "192.168.1.10",
    nullAddress: false,
    hold: false,
    crypto: [],
  });
  assert.equal(video!.address, "192.168.1.11");
  assert.equal(video!.rtcpMux, true);
  assert.equal(video!.rtcpPort, 51372);
  assert.equal(sdp.nortpproxy, false);
});

Deno.test("parseSdp() defaults RTCP to port + 1 and direction to the session level", () => {
  const sdp = parsed(
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
      "a=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n",
  );
  assert.equal(sdp.streams[0]!.rtcpPort, 4001);
  assert.equal(sdp.streams[0]!.direction, "sendonly");
  assert.equal(sdp.streams[0]!.hold, true);
});

Deno.test("parseSdp() marks c=0.0.0.0 as a null-address hold", () => {
  const sdp = parsed(
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n" +
      "m=audio 4000 RTP/AVP 0\r\n",
  );
  assert.equal(sdp.streams[0]!.nullAddress, true);
  assert.equal(sdp.streams[0]!.hold, true);
  assert.equal(isNullAddress("::"), true);
  assert.equal(isNullAddress("::1"), false);
});

Deno.test("parseSdp() sees a=nortpproxy:yes only at the start of a line", () => {
  assert.equal(parsed(AUDIO_VIDEO + "a=nortpproxy:yes\r\n").nortpproxy, true);
  assert.equal(parsed(AUDIO_VIDEO + "a=x-nortpproxy:yes\r\n").nortpproxy, false);
});

Deno.test("parseSdp() returns an error for bodies the relay cannot use", async (t) => {
  const cases: [string, string, string][] = [
    ["not SDP", "hello", "SDP_NOT_SDP"],
    ["no m= line", "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n", "SDP_NO_MEDIA"],
    [
      "no address",
      "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
      "SDP_NO_ADDRESS",
    ],
    [
      "bad port",
      "v=0\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\n",
      "SDP_BAD_PORT",
    ],
  ];
  for (const [name, body, code] of cases) {
    await t.step(name, () => {
      const r = parseSdp(body);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, code);
    });
  }
});

Deno.test("parseSdp() accepts a rejected stream without an address", () => {
  const r = parseSdp("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n");
  assert.equal(r.ok, true);
});

Deno.test("rewriteSdp() rewrites ports, media c= and a=rtcp, keeps o= without flag o", () => {
  const out = rewrite(AUDIO_VIDEO, [30000, 30002]);
  assert.match(out, /^o=alice 2890844526 2890844527 IN IP4 192\.168\.1\.10\r$/m);
  assert.match(out, /^m=audio 30000 RTP\/AVP 0 8 101\r$/m);
  assert.match(out, /^a=rtcp:30001 IN IP4 203\.0\.113\.1\r$/m);
  assert.match(out, /^m=video 30002 RTP\/AVP 96\r$/m);
  assert.match(out, /^a=rtcp:30002\r$/m, "rtcp-mux keeps RTCP on the RTP port");
  assert.match(out, /^c=IN IP4 203\.0\.113\.1\r$/m);
  // The session-level c= is audio's address (audio has no c= of its own): rewritten.
  assert.equal(out.match(/192\.168\.1\.1[01]/g)!.length, 1, "only o= keeps the old address");
  assert.equal(out.match(/c=IN IP4 203\.0\.113\.1/g)!.length, 2);
});

Deno.test("rewriteSdp() leaves the session c= alone when every m= has its own, unless flag c", () => {
  const body = "v=0\r\no=- 7 7 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
    "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\n";
  const plain = rewrite(body, [30000]);
  assert.match(plain, /^c=IN IP4 10\.0\.0\.1\r$/m);
  assert.match(plain, /^c=IN IP4 203\.0\.113\.1\r$/m);
  const withC = rewrite(body, [30000], { sessionConnection: true });
  assert.doesNotMatch(withC, /^c=IN IP4 10\.0\.0\.[12]/m);
  assert.match(withC, /^o=- 7 7 IN IP4 10\.0\.0\.1\r$/m);
});

Deno.test("rewriteSdp() rewrites o= with flag o and keeps a huge session version intact", () => {
  const body = "v=0\r\no=- 1234567890123456789 9007199254740993 IN IP4 10.0.0.1\r\ns=-\r\n" +
    "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
  const out = rewrite(body, [30000], { origin: true });
  assert.match(out, /^o=- 1234567890123456789 9007199254740993 IN IP4 203\.0\.113\.1\r$/m);
  const kept = rewrite(body, [30000]);
  assert.match(kept, /^o=- 1234567890123456789 9007199254740993 IN IP4 10\.0\.0\.1\r$/m);
});

Deno.test("rewriteSdp() keeps port 0 and a null address", () => {
  const body = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n" +
    "m=audio 4000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n";
  const out = rewrite(body, [30000, undefined]);
  assert.match(out, /^c=IN IP4 0\.0\.0\.0\r$/m);
  assert.match(out, /^m=audio 30000 /m);
  assert.match(out, /^m=video 0 /m);
});

Deno.test("rewriteSdp() writes IN IP6 for an IPv6 relay address", () => {
  const out = rewriteSdp(parsed(AUDIO_VIDEO), {
    address: "2001:db8::1",
    ports: [30000, 30002],
    sessionConnection: false,
    origin: true,
  });
  assert.match(out, /^c=IN IP6 2001:db8::1\r$/m);
  assert.match(out, /^o=alice 2890844526 2890844527 IN IP6 2001:db8::1\r$/m);
});

Deno.test("rewriteSdp() does not change its input", () => {
  const sdp = parsed(AUDIO_VIDEO);
  const before = JSON.stringify(sdp);
  rewriteSdp(sdp, { address: "1.1.1.1", ports: [2, 4], sessionConnection: true, origin: true });
  assert.equal(JSON.stringify(sdp), before);
});
