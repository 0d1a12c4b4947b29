// The call log as the proxy core fills it: one call.end line per call, however it ends, and one
// refusal line per request the SBC answers by itself; nothing else at info.
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import type { Side } from "../../../config/config.ts";
import { defaultConfig } from "../../../config/default.ts";
import type { CallTraffic } from "../../../rtp/session.ts";
import { ManualClock } from "../../kit/manual_clock.ts";
import type { MediaContext } from "../../../rtp/relay_types.ts";
import { ProxyCore } from "../../../sbc/proxy/proxy_core.ts";
import { getHeaderValues, parseMessage, type SipMessage } from "../../../sbc/message/message.ts";
import { bridgePipeline } from "../../../sbc/proxy/pipeline.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { toBytes } from "../../../sbc/message/serialize.ts";
import { TIMER } from "../../../sbc/transaction/timers.ts";
import type { Peer } from "../../../sbc/transport/peer.ts";

const PHONE: Peer = { host: "192.0.2.50", port: 5062 };
const PBX: Peer = { host: "127.0.2.10", port: 5060 };
const T0 = Date.UTC(2026, 10, 29, 16, 39, 34, 0);
const TRAFFIC: CallTraffic = {
  external: { packets: 1100, bytes: 189_200 },
  internal: { packets: 1098, bytes: 188_856 },
};
const NONE: CallTraffic = {
  external: { packets: 0, bytes: 0 },
  internal: { packets: 0, bytes: 0 },
};

function parse(text: string): SipMessage {
  const parsed = parseMessage(text);
  if (!parsed.ok) throw new Error(`${parsed.error.message}\n${text}`);
  return parsed.value;
}

function sip(lines: string[]): string {
  return [...lines, "Content-Length: 0", "", ""].join("\r\n");
}

const DIALOG = {
  from: 'From: "Alice" <sip:alice@127.0.1.1>;tag=a1',
  callId: "Call-ID: call1@10.0.0.5",
};

function invite(opts: { mf?: number } = {}): string {
  return sip([
    "INVITE sip:100@127.0.1.1 SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKphone1;rport",
    `Max-Forwards: ${opts.mf ?? 70}`,
    DIALOG.from,
    "To: <sip:100@127.0.1.1>",
    DIALOG.callId,
    "CSeq: 1 INVITE",
    "Contact: <sip:alice@10.0.0.5:5062>",
  ]);
}

/** A request from the phone inside the dialog, routed through the SBC. */
function fromPhone(method: string, cseq: number, opts: { mf?: number } = {}): string {
  return sip([
    `${method} sip:100@127.0.2.10:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK${method}${cseq};rport`,
    "Route: <sip:127.0.1.1:5060;lr>, <sip:127.0.2.1:5060;lr>",
    `Max-Forwards: ${opts.mf ?? 70}`,
    DIALOG.from,
    "To: <sip:100@127.0.1.1>;tag=pbx1",
    DIALOG.callId,
    `CSeq: ${cseq} ${method}`,
  ]);
}

function cancel(): string {
  return sip([
    "CANCEL sip:100@127.0.1.1 SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKphone1;rport",
    "Max-Forwards: 70",
    DIALOG.from,
    "To: <sip:100@127.0.1.1>",
    DIALOG.callId,
    "CSeq: 1 CANCEL",
  ]);
}

function pbxAnswer(req: SipMessage, status: number, reason: string): string {
  return buildResponse(req, status, reason, {
    toTag: "pbx1",
    headers: [
      ...getHeaderValues(req, "record-route").map((r) => ["Record-Route", r] as const),
      ["Contact", "<sip:100@127.0.2.10:5060>"],
    ],
  });
}

/**
 * A core on the default config with a fake relay whose counters drop to zero once the relay is
 * told to delete the call (as the real one forgets a deleted session), and the log records.
 */
async function setup() {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { test: (r) => records.push(r) },
    loggers: [{ category: ["edgesbc"], lowestLevel: "info", sinks: ["test"] }],
  });
  const clock = new ManualClock();
  let wall = T0;
  let deleted = false;
  const sent: SipMessage[] = [];
  const core = new ProxyCore({
    config: defaultConfig(),
    clock,
    now: () => wall,
    send: (_target, bytes) => {
      sent.push(parse(new TextDecoder().decode(bytes)));
      return Promise.resolve(true);
    },
    route: bridgePipeline(),
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
  const receive = async (side: Side, text: string) => {
    const local = {
      proto: "udp" as const,
      host: side === "external" ? "127.0.1.1" : "127.0.2.1",
      port: 5060,
    };
    const source = side === "external" ? PHONE : PBX;
    core.receive({
      data: toBytes(text),
      source,
      side,
      proto: "udp",
      local,
      connection: undefined,
    });
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  /** The INVITE as the PBX got it. */
  const call = async () => {
    await receive("external", invite());
    const req = sent.find((m) => m.method === "INVITE" && m.kind === "request");
    assert.ok(req, "INVITE forwarded");
    return req;
  };
  const lines = () =>
    records.map((r): Record<string, unknown> => ({ level: r.level, ...r.properties }));
  const done = async () => {
    core.close();
    await reset();
  };
  return {
    core,
    clock,
    receive,
    call,
    lines,
    done,
    advance: (ms: number) => {
      wall += ms;
      clock.advance(ms);
    },
  };
}

Deno.test("ProxyCore logs one call.end line for a call the PBX rejects with 486", async () => {
  const env = await setup();
  try {
    const req = await env.call();
    await env.receive("internal", pbxAnswer(req, 180, "Ringing"));
    env.advance(900);
    await env.receive("internal", pbxAnswer(req, 486, "Busy Here"));
    assert.deepEqual(env.lines(), [{
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
  } finally {
    await env.done();
  }
});

Deno.test("ProxyCore logs an answered call's end when the BYE arrives, with the RTP counters before the relay deletes the call", async () => {
  const env = await setup();
  try {
    const req = await env.call();
    env.advance(118);
    await env.receive("internal", pbxAnswer(req, 200, "OK"));
    env.advance(22_010);
    await env.receive("external", fromPhone("BYE", 2));
    const lines = env.lines();
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.deepEqual(
      [lines[0]!.ended, lines[0]!.by, lines[0]!.status, lines[0]!.duration],
      ["bye", "external", null, 22.01],
    );
    assert.equal(lines[0]!.answer, "2026-11-29T16:39:34.118Z");
    assert.equal(lines[0]!.extToIntPackets, 1100);
    assert.equal(lines[0]!.intToExtBytes, 188_856);
  } finally {
    await env.done();
  }
});

Deno.test("ProxyCore logs a cancelled call as ended by the caller's CANCEL", async () => {
  const env = await setup();
  try {
    const req = await env.call();
    await env.receive("internal", pbxAnswer(req, 180, "Ringing"));
    await env.receive("external", cancel());
    await env.receive("internal", pbxAnswer(req, 487, "Request Terminated"));
    const lines = env.lines();
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.deepEqual([lines[0]!.ended, lines[0]!.by, lines[0]!.status], [
      "cancel",
      "external",
      487,
    ]);
  } finally {
    await env.done();
  }
});

Deno.test("ProxyCore logs a call the PBX never answers as a timeout with the SBC's 408", async () => {
  const env = await setup();
  try {
    await env.call();
    env.advance(TIMER.B);
    const lines = env.lines();
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.deepEqual([lines[0]!.ended, lines[0]!.by, lines[0]!.status], ["timeout", "sbc", 408]);
  } finally {
    await env.done();
  }
});

Deno.test("ProxyCore logs a call it refuses itself as call.refused, and no call.end", async () => {
  const env = await setup();
  try {
    await env.receive("external", invite({ mf: 0 }));
    env.core.drain();
    await env.receive(
      "external",
      invite().replace("call1@", "call2@").replace("z9hG4bKphone1", "z9hG4bKphone2"),
    );
    env.core.close();
    assert.deepEqual(env.lines(), [
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
  } finally {
    await env.done();
  }
});

Deno.test("ProxyCore: a refused re-INVITE is a request.refused line and the call goes on", async () => {
  const env = await setup();
  try {
    const req = await env.call();
    await env.receive("internal", pbxAnswer(req, 200, "OK"));
    await env.receive("external", fromPhone("INVITE", 2, { mf: 0 }));
    await env.receive("internal", pbxAnswer(req, 200, "OK")); // a 2xx retransmission
    const lines = env.lines();
    assert.deepEqual(lines.map((l) => `${l.event} ${l.status}`), ["request.refused 483"]);
    env.core.mediaTimeout("call1@10.0.0.5");
    const end = env.lines()[1]!;
    assert.deepEqual([end.event, end.ended, end.by], ["call.end", "media-timeout", null]);
  } finally {
    await env.done();
  }
});

Deno.test("ProxyCore logs every call still up as ended by shutdown when it closes", async () => {
  const env = await setup();
  try {
    const req = await env.call();
    await env.receive("internal", pbxAnswer(req, 200, "OK"));
    env.core.close();
    env.core.close();
    assert.deepEqual(env.lines().map((l) => `${l.event} ${l.ended}`), ["call.end shutdown"]);
  } finally {
    await env.done();
  }
});

Deno.test("ProxyCore logs a malformed request it answers 400 as request.refused, garbage not at info", async () => {
  const env = await setup();
  try {
    await env.receive("external", "garbage\r\n\r\n");
    await env.receive("external", invite().replace("Max-Forwards: 70", "Max-Forwards: lots"));
    const lines = env.lines();
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]!.event, "call.refused");
    assert.equal(lines[0]!.status, 400);
  } finally {
    await env.done();
  }
});
