import assert from "node:assert/strict";
import { parseFlags } from "../../rtp/flags.ts";
import {
  applyAnswer,
  applyOffer,
  dropOffer,
  findMatch,
  hasOpenStream,
  isRepeatedOffer,
  newSession,
  newStream,
  offerStateOf,
  passKey,
  rewriteOptions,
  streamsToOpen,
} from "../../rtp/offer_answer.ts";
import type { Sdp } from "../../rtp/sdp.ts";
import type { MediaSession } from "../../rtp/session.ts";
import { legs, message, sdp } from "./_media_session.ts";

const FLAGS = parseFlags("");
/** The SDP address as written (the internal side's rule), nothing refused. */
const PEER = { sipSource: undefined, trustSdp: true, refuse: [] };
const PHONE = "192.0.2.50";
const PBX = "127.0.2.10";

/** A session for the caller's offer `offer`, its streams opened as the relay would. */
function offered(offer: Sdp): MediaSession {
  const session = newSession(message(), { sender: 0, from: "external", to: "internal", now: 0 });
  const created: number[] = [];
  for (const st of streamsToOpen(session, offer)) {
    session.streams[st.index] = newStream(st, { legs: legs(session.sides, 40000), now: 0 });
    created.push(st.index);
  }
  applyOffer(session, offer, {
    party: 0,
    cseq: 1,
    method: "INVITE",
    created,
    flags: FLAGS,
    peer: PEER,
  });
  return session;
}

/** Where a leg sends: "host:port", or null. */
function dest(session: MediaSession, stream: number, party: 0 | 1): string | null {
  const d = session.streams[stream]!.legs![party].destRtp;
  return d === null ? null : `${d.hostname}:${d.port}`;
}

Deno.test("findMatch() finds the session by the caller's From tag, or by a To tag from the callee", () => {
  const session = newSession(message(), { sender: 0, from: "external", to: "internal", now: 0 });
  const sessions = [session];
  assert.deepEqual(findMatch(sessions, message()), { session, sender: 0, requestSender: 0 });
  const reply = message({ kind: "response", status: 200, toTag: "callee" });
  assert.deepEqual(findMatch(sessions, reply), { session, sender: 1, requestSender: 0 });
  const byCallee = message({ fromTag: "callee", toTag: "caller", cseq: 5 });
  assert.deepEqual(findMatch(sessions, byCallee), { session, sender: 1, requestSender: 1 });
  const itsReply = message({ kind: "response", status: 200, fromTag: "callee", toTag: "caller" });
  assert.deepEqual(findMatch(sessions, itsReply), { session, sender: 0, requestSender: 1 });
  assert.equal(findMatch(sessions, message({ fromTag: "someone", toTag: "else" })), undefined);
  assert.equal(findMatch(undefined, message()), undefined);
});

Deno.test("offerStateOf() says whether the open offer is this transaction's and whose it is", () => {
  const session = offered(sdp(PHONE, [["audio", 49170]]));
  const match = findMatch([session], message())!;
  assert.deepEqual(offerStateOf(match, message()), {
    open: true,
    fromRequestSender: true,
    inTransaction: true,
  });
  // The ACK belongs to its INVITE's transaction; a later request does not.
  assert.equal(offerStateOf(match, message({ method: "ACK" }))!.inTransaction, true);
  assert.equal(offerStateOf(match, message({ method: "UPDATE", cseq: 2 }))!.inTransaction, false);
  assert.equal(offerStateOf(match, message({ cseq: 2 }))!.inTransaction, false, "a re-INVITE");
  const byCallee = findMatch([session], message({ fromTag: "callee", toTag: "caller", cseq: 1 }))!;
  assert.equal(offerStateOf(byCallee, message({ cseq: 1 }))!.fromRequestSender, false);
  session.offer = undefined;
  assert.equal(offerStateOf(match, message()), undefined);
  assert.equal(offerStateOf(undefined, message()), undefined);
});

Deno.test("newSession() puts the offerer's side first and keeps a reply's To tag", () => {
  const fromRequest = newSession(message(), {
    sender: 0,
    from: "external",
    to: "internal",
    now: 7,
  });
  assert.deepEqual(fromRequest.sides, ["external", "internal"]);
  assert.deepEqual([...fromRequest.toTags], []);
  assert.equal(fromRequest.createdAt, 7);
  // An offer in a reply (the INVITE had none) comes from the callee: party 1.
  const reply = message({ kind: "response", status: 183, toTag: "callee" });
  const fromReply = newSession(reply, { sender: 1, from: "internal", to: "external", now: 0 });
  assert.deepEqual(fromReply.sides, ["external", "internal"]);
  assert.deepEqual([...fromReply.toTags], ["callee"]);
  assert.equal(fromReply.fromTag, "caller");
});

Deno.test("streamsToOpen() picks the active m= lines that have no legs yet", () => {
  const offer = sdp(PHONE, [["audio", 49170], ["video", 0], ["audio", 49180]]);
  const session = newSession(message(), { sender: 0, from: "external", to: "internal", now: 0 });
  assert.deepEqual(streamsToOpen(session, offer).map((st) => st.index), [0, 2]);
  session.streams[0] = newStream(offer.streams[0]!, { legs: legs(session.sides, 40000), now: 0 });
  assert.deepEqual(streamsToOpen(session, offer).map((st) => st.index), [2]);
});

Deno.test("applyOffer() and applyAnswer() set both parties' addresses and the agreed hold", () => {
  const session = offered(sdp(PHONE, [["audio", 49170]]));
  assert.equal(dest(session, 0, 0), `${PHONE}:49170`, "an initial offer applies at once");
  assert.equal(dest(session, 0, 1), null, "the answerer is not known yet");
  assert.equal(session.offer!.open, true);
  const rejected = applyAnswer(session, sdp(PBX, [["audio", 20000, "a=sendonly"]]), {
    sender: 1,
    flags: FLAGS,
    peer: PEER,
  });
  assert.deepEqual(rejected, []);
  assert.equal(dest(session, 0, 1), `${PBX}:20000`);
  assert.equal(session.streams[0]!.hold, true, "a sendonly answer puts the stream on hold");
  assert.equal(session.offer!.open, false);
});

Deno.test("applyOffer() keeps a re-offer's address pending until it is answered (RFC 3264 §8.3.1)", () => {
  const session = offered(sdp(PHONE, [["audio", 49170]]));
  applyAnswer(session, sdp(PBX, [["audio", 20000]]), { sender: 1, flags: FLAGS, peer: PEER });
  const reoffer = sdp("192.0.2.51", [["audio", 49200]]);
  assert.deepEqual(streamsToOpen(session, reoffer), [], "the re-offer keeps the ports");
  applyOffer(session, reoffer, {
    party: 0,
    cseq: 2,
    method: "INVITE",
    created: [],
    flags: FLAGS,
    peer: PEER,
  });
  assert.equal(dest(session, 0, 0), `${PHONE}:49170`, "not moved before the answer");
  applyAnswer(session, sdp(PBX, [["audio", 20000]]), { sender: 1, flags: FLAGS, peer: PEER });
  assert.equal(dest(session, 0, 0), "192.0.2.51:49200");
});

Deno.test("dropOffer() forgets a failed re-offer's address and returns the streams it opened", () => {
  const session = offered(sdp(PHONE, [["audio", 49170]]));
  applyAnswer(session, sdp(PBX, [["audio", 20000]]), { sender: 1, flags: FLAGS, peer: PEER });
  const reoffer = sdp("192.0.2.51", [["audio", 49200], ["video", 49202]]);
  const added = streamsToOpen(session, reoffer);
  assert.deepEqual(added.map((st) => st.index), [1]);
  session.streams[1] = newStream(added[0]!, { legs: legs(session.sides, 40010), now: 0 });
  applyOffer(session, reoffer, {
    party: 0,
    cseq: 2,
    method: "INVITE",
    created: [1],
    flags: FLAGS,
    peer: PEER,
  });
  assert.deepEqual(dropOffer(session), [session.streams[1]]);
  assert.equal(session.offer, undefined);
  const caller = session.streams[0]!.legs![0];
  assert.deepEqual([caller.pendingRtp, caller.pendingRtcp], [undefined, undefined]);
  assert.equal(dest(session, 0, 0), `${PHONE}:49170`, "the failed address never applied");
  applyOffer(session, sdp(PHONE, [["audio", 49170]]), {
    party: 0,
    cseq: 3,
    method: "INVITE",
    created: [],
    flags: FLAGS,
    peer: PEER,
  });
  applyAnswer(session, sdp(PBX, [["audio", 20000]]), { sender: 1, flags: FLAGS, peer: PEER });
  assert.deepEqual(dropOffer(session), [], "an answered offer opened nothing to close");
});

Deno.test("applyAnswer() returns the streams the answer rejected or left out", () => {
  const session = offered(sdp(PHONE, [["audio", 49170], ["video", 49172], ["audio", 49174]]));
  const rejected = applyAnswer(session, sdp(PBX, [["audio", 20000], ["video", 0]]), {
    sender: 1,
    flags: FLAGS,
    peer: PEER,
  });
  assert.deepEqual(rejected, [session.streams[1], session.streams[2]]);
  assert.equal(hasOpenStream(session), true, "closing is the relay's job");
  for (const stream of session.streams) stream!.legs = undefined;
  assert.equal(hasOpenStream(session), false);
});

Deno.test("applyOffer() and applyAnswer() stop latching for an asymmetric party (flag a)", () => {
  const session = newSession(message(), { sender: 0, from: "external", to: "internal", now: 0 });
  const offer = sdp(PHONE, [["audio", 49170]]);
  session.streams[0] = newStream(offer.streams[0]!, { legs: legs(session.sides, 40000), now: 0 });
  applyOffer(session, offer, {
    party: 0,
    cseq: 1,
    method: "INVITE",
    created: [0],
    flags: parseFlags("a"),
    peer: PEER,
  });
  applyAnswer(session, sdp(PBX, [["audio", 20000]]), { sender: 1, flags: FLAGS, peer: PEER });
  assert.deepEqual(session.streams[0]!.legs!.map((l) => l.symmetric), [false, true]);
  applyOffer(session, offer, {
    party: 0,
    cseq: 2,
    method: "INVITE",
    created: [],
    flags: FLAGS,
    peer: PEER,
  });
  applyAnswer(session, sdp(PBX, [["audio", 20000]]), {
    sender: 1,
    flags: parseFlags("a"),
    peer: PEER,
  });
  assert.deepEqual(session.streams[0]!.legs!.map((l) => l.symmetric), [true, false]);
});

Deno.test("isRepeatedOffer() knows an answered offer sent again with the same o= line", () => {
  const session = newSession(message({ kind: "response", status: 183, toTag: "callee" }), {
    sender: 1,
    from: "internal",
    to: "external",
    now: 0,
  });
  const offer = sdp(PBX, [["audio", 20000]]);
  session.streams[0] = newStream(offer.streams[0]!, { legs: legs(session.sides, 40000), now: 0 });
  applyOffer(session, offer, {
    party: 1,
    cseq: 1,
    method: "INVITE",
    created: [0],
    flags: FLAGS,
    peer: PEER,
  });
  const ok = message({ kind: "response", status: 200, toTag: "callee" });
  const match = findMatch([session], ok)!;
  assert.equal(isRepeatedOffer(match, offer), false, "not while the offer is open");
  applyAnswer(session, sdp(PHONE, [["audio", 49170]]), { sender: 0, flags: FLAGS, peer: PEER });
  assert.equal(isRepeatedOffer(match, offer), true);
  const changed = sdp(PBX, [["audio", 20000]]);
  const newer = { ...changed, originLine: "o=- 1 2 IN IP4 127.0.2.10" };
  assert.equal(isRepeatedOffer(match, newer), false, "a new o= version is a new offer");
});

Deno.test("rewriteOptions() gives the receiving party's ports and side address", () => {
  const offer = sdp(PHONE, [["audio", 49170], ["video", 0]]);
  const session = offered(offer);
  const options = rewriteOptions(session, offer, {
    to: 1,
    address: "127.0.2.1",
    flags: parseFlags("co"),
  });
  assert.deepEqual(options, {
    address: "127.0.2.1",
    ports: [40002, undefined],
    sessionConnection: true,
    origin: true,
  });
  assert.deepEqual(
    rewriteOptions(session, offer, { to: 0, address: "127.0.1.1", flags: FLAGS }).ports,
    [40000, undefined],
  );
});

Deno.test("passKey() names an INVITE transaction by Call-ID, From tag and CSeq", () => {
  assert.equal(passKey(message({ cseq: 4 })), "c1\ncaller\n4");
  assert.equal(passKey(message({ fromTag: undefined })), "c1\n\n1");
  assert.notEqual(passKey(message({ cseq: 1 })), passKey(message({ cseq: 2 })));
});
