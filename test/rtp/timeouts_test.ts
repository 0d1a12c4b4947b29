import assert from "node:assert/strict";
import { newSession, newStream } from "../../rtp/offer_answer.ts";
import type { MediaSession } from "../../rtp/session.ts";
import { SWEEP_END, sweepSession, type Timeouts } from "../../rtp/timeouts.ts";
import { legs, message, sdp } from "./_media_session.ts";

const LIMITS: Timeouts = { silenceMs: 60_000, holdMs: 600_000, offerMs: 180_000 };

/** A session created at 0 with one stream per m= line (`hold` from the SDP direction). */
function session(confirmed: boolean, directions: readonly string[] = ["a=sendrecv"]) {
  const s: MediaSession = newSession(message(), {
    sender: 0,
    from: "external",
    to: "internal",
    now: 0,
  });
  const offer = sdp("192.0.2.50", directions.map((d, i) => ["audio", 49170 + 2 * i, d] as const));
  for (const st of offer.streams) {
    s.streams[st.index] = newStream(st, { legs: legs(s.sides, 40000 + 4 * st.index), now: 0 });
  }
  s.confirmed = confirmed;
  return s;
}

/** `n` packets relayed from party `party` of stream `i` since the last sweep. */
function packets(s: MediaSession, i: number, party: 0 | 1, n: number): void {
  s.streams[i]!.legs![party].packets += n;
}

Deno.test("sweepSession() ends a session without a 2xx after the offer timeout", () => {
  const s = session(false);
  assert.deepEqual(sweepSession(s, LIMITS.offerMs, LIMITS), { expired: [], end: undefined });
  assert.deepEqual(sweepSession(s, LIMITS.offerMs + 1, LIMITS), {
    expired: [],
    end: SWEEP_END.offerTimeout,
  });
});

Deno.test("sweepSession() keeps early media's latch activity current before the 2xx", () => {
  const s = session(false);
  packets(s, 0, 1, 3);
  sweepSession(s, 5_000, LIMITS);
  const leg = s.streams[0]!.legs![1];
  assert.deepEqual([leg.seen, leg.lastActive], [3, 5_000]);
  assert.equal(s.streams[0]!.legs![0].lastActive, 0, "a silent leg stays as it was");
});

Deno.test("sweepSession() closes a stream silent past the timeout and keeps one with traffic", () => {
  const s = session(true, ["a=sendrecv", "a=sendrecv"]);
  packets(s, 0, 0, 10);
  assert.deepEqual(sweepSession(s, 30_000, LIMITS), { expired: [], end: undefined });
  assert.equal(s.streams[0]!.lastActive, 30_000, "traffic counts as activity");
  packets(s, 0, 1, 1);
  assert.deepEqual(sweepSession(s, LIMITS.silenceMs, LIMITS), { expired: [], end: undefined });
  assert.deepEqual(sweepSession(s, LIMITS.silenceMs + 1, LIMITS), {
    expired: [s.streams[1]],
    end: undefined,
  });
});

Deno.test("sweepSession() gives a stream on hold the hold timeout", () => {
  const s = session(true, ["a=sendonly"]);
  assert.equal(s.streams[0]!.hold, true);
  assert.deepEqual(sweepSession(s, LIMITS.silenceMs + 1, LIMITS).expired, []);
  assert.deepEqual(sweepSession(s, LIMITS.holdMs + 1, LIMITS).expired, [s.streams[0]]);
});

Deno.test("sweepSession() ends a confirmed session once no stream is left open", () => {
  const s = session(true, ["a=sendrecv", "a=sendrecv"]);
  packets(s, 0, 0, 1);
  const now = LIMITS.silenceMs + 1;
  assert.deepEqual(sweepSession(s, now, LIMITS), { expired: [s.streams[1]], end: undefined });
  s.streams[1]!.legs = undefined; // the relay closed it
  assert.deepEqual(sweepSession(s, now + LIMITS.silenceMs + 1, LIMITS), {
    expired: [s.streams[0]],
    end: SWEEP_END.silence,
  });
  const closed = session(true);
  closed.streams[0]!.legs = undefined;
  assert.deepEqual(sweepSession(closed, 0, LIMITS), { expired: [], end: SWEEP_END.silence });
});
