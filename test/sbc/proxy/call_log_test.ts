import assert from "node:assert/strict";
import {
  CALL_END,
  callEndProperties,
  callRecord,
  refusalProperties,
} from "../../../sbc/proxy/call_log.ts";
import type { SipMessage } from "../../../sbc/message/sip_message.ts";
import { PHONE } from "../../kit/phone_and_pbx.ts";
import { parse, sip } from "../../kit/sip_text.ts";

/** An INVITE from `from` (given its tag a1) to `to`; the log takes users from these. */
function invite(from: string, to: string): SipMessage {
  return parse(sip([
    "INVITE sip:100@127.0.1.1 SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKphone1",
    "Max-Forwards: 70",
    `From: ${from};tag=a1`,
    `To: ${to}`,
    "Call-ID: call1@10.0.0.5",
    "CSeq: 1 INVITE",
  ]));
}

const T0 = Date.UTC(2026, 10, 29, 16, 39, 34, 2);
const TRAFFIC = {
  external: { packets: 1100, bytes: 189_200 },
  internal: { packets: 1098, bytes: 188_856 },
};

Deno.test("callRecord() keeps the Call-ID, the From and To users and the caller's side", () => {
  const record = callRecord(
    invite('"Alice" <sip:alice@example.com>', "<sip:bob@127.0.1.1;user=phone>"),
    "external",
    T0,
  );
  assert.deepEqual(record, {
    callId: "call1@10.0.0.5",
    from: "alice",
    to: "bob",
    caller: "external",
    start: T0,
    answer: undefined,
  });
});

Deno.test("callRecord() takes a tel: number as the user and null when there is none", () => {
  const record = callRecord(invite("<tel:+4930123>", "sip:127.0.2.10"), "internal", T0);
  assert.equal(record.from, "+4930123");
  assert.equal(record.to, null);
});

Deno.test("callEndProperties() gives times, talk duration, how it ended and RTP per direction", () => {
  const record = { ...callRecord(invite("<sip:alice@a>", "<sip:bob@b>"), "external", T0) };
  record.answer = T0 + 118;
  const end = { how: CALL_END.bye, by: "internal", status: null, at: T0 + 22_128 } as const;
  assert.deepEqual(callEndProperties(record, end, TRAFFIC), {
    event: "call.end",
    callId: "call1@10.0.0.5",
    from: "alice",
    to: "bob",
    caller: "external",
    start: "2026-11-29T16:39:34.002Z",
    answer: "2026-11-29T16:39:34.120Z",
    end: "2026-11-29T16:39:56.130Z",
    duration: 22.01,
    ended: "bye",
    by: "internal",
    status: null,
    extToIntPackets: 1100,
    extToIntBytes: 189_200,
    intToExtPackets: 1098,
    intToExtBytes: 188_856,
  });
});

Deno.test("callEndProperties() of a call never answered: no answer time, duration 0", () => {
  const record = callRecord(invite("<sip:alice@a>", "<sip:bob@b>"), "external", T0);
  const end = { how: CALL_END.final, by: "internal", status: 486, at: T0 + 900 } as const;
  const props = callEndProperties(record, end, {
    external: { packets: 0, bytes: 0 },
    internal: { packets: 0, bytes: 0 },
  });
  assert.equal(props.answer, null);
  assert.equal(props.duration, 0);
  assert.equal(props.ended, "final");
  assert.equal(props.status, 486);
});

Deno.test("refusalProperties() names the request, where it came from and the answer", () => {
  const msg = invite("<sip:alice@a>", "<sip:bob@b>");
  assert.deepEqual(
    refusalProperties(msg, {
      side: "external",
      source: PHONE,
      status: 503,
      reason: "Media ports exhausted",
    }),
    {
      event: "call.refused",
      method: "INVITE",
      callId: "call1@10.0.0.5",
      from: "alice",
      to: "bob",
      side: "external",
      source: "192.0.2.50:5062",
      status: 503,
      reason: "Media ports exhausted",
    },
  );
});
