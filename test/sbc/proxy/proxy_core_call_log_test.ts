// The call log as the proxy core fills it: one call.end line per call, however it ends, and one
// refusal line per request the SBC answers by itself; nothing else at info.
import assert from "node:assert/strict";
import type { CallTraffic } from "../../../rtp/session.ts";
import type { MediaContext } from "../../../rtp/relay_types.ts";
import type { SipMessage } from "../../../sbc/message/sip_message.ts";
import { TIMER } from "../../../sbc/transaction/timers.ts";
import { coreEnv } from "../../kit/core_env.ts";
import { captureLogs } from "../../kit/log_capture.ts";
import { answer, PBX, PHONE, request } from "../../kit/phone_and_pbx.ts";

const T0 = Date.UTC(2026, 10, 29, 16, 39, 34, 0);
const TRAFFIC: CallTraffic = {
  external: { packets: 1100, bytes: 189_200 },
  internal: { packets: 1098, bytes: 188_856 },
};
const NONE: CallTraffic = {
  external: { packets: 0, bytes: 0 },
  internal: { packets: 0, bytes: 0 },
};

/** The phone is behind NAT: it writes this address in Via, Contact and Call-ID. */
const PHONE_HOST = "10.0.0.5";

/** A request from the phone inside the dialog, routed through the SBC. */
function inDialog(method: string, cseq: number, options: { mf?: number } = {}): string {
  return request(method, {
    ...options,
    uri: "sip:100@127.0.2.10:5060",
    host: PHONE_HOST,
    toTag: "pbx1",
    cseq,
    branch: `z9hG4bK${method}${cseq}`,
    extra: ["Route: <sip:127.0.1.1:5060;lr>, <sip:127.0.2.1:5060;lr>"],
  });
}

/**
 * A core on the default config, its wall clock at T0, with a fake relay whose counters drop to
 * zero once the relay is told to delete the call (as the real one forgets a deleted session), and
 * the log records at info. Disposing it closes the core, then ends the capture.
 */
function setup() {
  const logs = captureLogs({ level: "info" });
  let deleted = false;
  const env = coreEnv({
    now: T0,
    media: {
      manage: (ctx: MediaContext) => {
        const { msg } = ctx;
        if (msg.method === "BYE" || msg.status >= 300) deleted = true;
        return { kind: "none" };
      },
      deleteCall: () => void (deleted = true),
      traffic: () => deleted ? NONE : TRAFFIC,
    },
  });
  return {
    env,
    /** The INVITE as the PBX got it. */
    async call(): Promise<SipMessage> {
      await env.receive("external", PHONE, request("INVITE", { host: PHONE_HOST }));
      const req = env.sent.find((s) => s.msg.method === "INVITE" && s.msg.kind === "request");
      assert.ok(req, "INVITE forwarded");
      return req.msg;
    },
    lines: () =>
      logs.records.map((r): Record<string, unknown> => ({ level: r.level, ...r.properties })),
    [Symbol.dispose]() {
      env.core.close();
      logs[Symbol.dispose]();
    },
  };
}

Deno.test("ProxyCore logs one call.end line for a call the PBX rejects with 486", async () => {
  using t = setup();
  const req = await t.call();
  await t.env.receive("internal", PBX, answer(req, 180, "Ringing"));
  t.env.clock.advance(900);
  await t.env.receive("internal", PBX, answer(req, 486, "Busy Here"));
  assert.deepEqual(t.lines(), [{
    level: "info",
    event: "call.end",
    callId: "call1@10.0.0.5",
    from: "alice",
    to: "100",
    caller: "external",
    start: "2026-11-29T16:39:34.000Z",
    answer: null,
    end: "2026-11-29T16:39:34.900Z",
    duration: 0,
    ended: "final",
    by: "internal",
    status: 486,
    // read before the 486 deleted the media session
    extToIntPackets: 1100,
    extToIntBytes: 189_200,
    intToExtPackets: 1098,
    intToExtBytes: 188_856,
  }]);
});

Deno.test("ProxyCore logs an answered call's end when the BYE arrives, with the RTP counters before the relay deletes the call", async () => {
  using t = setup();
  const req = await t.call();
  t.env.clock.advance(118);
  await t.env.receive("internal", PBX, answer(req, 200, "OK"));
  t.env.clock.advance(22_010);
  await t.env.receive("external", PHONE, inDialog("BYE", 2));
  const lines = t.lines();
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.deepEqual(
    [lines[0]!.ended, lines[0]!.by, lines[0]!.status, lines[0]!.duration],
    ["bye", "external", null, 22.01],
  );
  assert.equal(lines[0]!.answer, "2026-11-29T16:39:34.118Z");
  assert.equal(lines[0]!.extToIntPackets, 1100);
  assert.equal(lines[0]!.intToExtBytes, 188_856);
});

Deno.test("ProxyCore logs a cancelled call as ended by the caller's CANCEL", async () => {
  using t = setup();
  const req = await t.call();
  await t.env.receive("internal", PBX, answer(req, 180, "Ringing"));
  await t.env.receive("external", PHONE, request("CANCEL", { host: PHONE_HOST }));
  await t.env.receive("internal", PBX, answer(req, 487, "Request Terminated"));
  const lines = t.lines();
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.deepEqual([lines[0]!.ended, lines[0]!.by, lines[0]!.status], [
    "cancel",
    "external",
    487,
  ]);
});

Deno.test("ProxyCore logs a call the PBX never answers as a timeout with the SBC's 408", async () => {
  using t = setup();
  await t.call();
  t.env.clock.advance(TIMER.B);
  const lines = t.lines();
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.deepEqual([lines[0]!.ended, lines[0]!.by, lines[0]!.status], ["timeout", "sbc", 408]);
});

Deno.test("ProxyCore logs a call it refuses itself as call.refused, and no call.end", async () => {
  using t = setup();
  await t.env.receive("external", PHONE, request("INVITE", { host: PHONE_HOST, mf: 0 }));
  t.env.core.drain();
  await t.env.receive(
    "external",
    PHONE,
    request("INVITE", { host: PHONE_HOST, callId: "call2@10.0.0.5", branch: "z9hG4bKphone2" }),
  );
  t.env.core.close();
  assert.deepEqual(t.lines(), [
    {
      level: "info",
      event: "call.refused",
      method: "INVITE",
      callId: "call1@10.0.0.5",
      from: "alice",
      to: "100",
      side: "external",
      source: "192.0.2.50:5062",
      status: 483,
      reason: "Too Many Hops",
    },
    {
      level: "info",
      event: "call.refused",
      method: "INVITE",
      callId: "call2@10.0.0.5",
      from: "alice",
      to: "100",
      side: "external",
      source: "192.0.2.50:5062",
      status: 503,
      reason: "Shutting Down",
    },
  ]);
});

Deno.test("ProxyCore: a refused re-INVITE is a request.refused line and the call goes on", async () => {
  using t = setup();
  const req = await t.call();
  await t.env.receive("internal", PBX, answer(req, 200, "OK"));
  await t.env.receive("external", PHONE, inDialog("INVITE", 2, { mf: 0 }));
  await t.env.receive("internal", PBX, answer(req, 200, "OK")); // a 2xx retransmission
  const lines = t.lines();
  assert.deepEqual(lines.map((l) => `${l.event} ${l.status}`), ["request.refused 483"]);
  t.env.core.mediaTimeout("call1@10.0.0.5");
  const end = t.lines()[1]!;
  assert.deepEqual([end.event, end.ended, end.by], ["call.end", "media-timeout", null]);
});

Deno.test("ProxyCore logs every call still up as ended by shutdown when it closes", async () => {
  using t = setup();
  const req = await t.call();
  await t.env.receive("internal", PBX, answer(req, 200, "OK"));
  t.env.core.close();
  t.env.core.close();
  assert.deepEqual(t.lines().map((l) => `${l.event} ${l.ended}`), ["call.end shutdown"]);
});

Deno.test("ProxyCore logs a malformed request it answers 400 as request.refused, garbage not at info", async () => {
  using t = setup();
  await t.env.receive("external", PHONE, "garbage\r\n\r\n");
  await t.env.receive(
    "external",
    PHONE,
    request("INVITE", { host: PHONE_HOST, mf: -1, extra: ["Max-Forwards: lots"] }),
  );
  const lines = t.lines();
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]!.event, "call.refused");
  assert.equal(lines[0]!.status, 400);
});
