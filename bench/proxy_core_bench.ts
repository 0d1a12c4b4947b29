/**
 * What dialog state and topology hiding cost the proxy core, in one process (no sockets, no
 * kernel, so the ratio is not drowned in the noise of bench/sip_bench.ts): whole calls through
 * `ProxyCore`, INVITE / 180 / 200 / ACK / BYE / 200 without SDP, from outside to the PBX and from
 * the PBX out, with `topology_hiding` on (the default) and off. Dialog state is always on; its
 * share shows in the per-call cost next to the parse and serialize work around it.
 *
 * npx deno bench -A bench/proxy_core_bench.ts
 */
import { defaultConfig } from "../config/default.ts";
import type { Config, Side } from "../config/config.ts";
import { parseMessage } from "../sbc/message/message.ts";
import { buildResponse } from "../sbc/message/response.ts";
import type { SipMessage } from "../sbc/message/sip_message.ts";
import { bridgePipeline } from "../sbc/proxy/pipeline.ts";
import { ProxyCore } from "../sbc/proxy/proxy_core.ts";
import type { Peer } from "../sbc/transport/peer.ts";
import type { Clock } from "../sbc/transaction/clock.ts";

const PHONE: Peer = { host: "192.0.2.50", port: 5062 };
const PBX: Peer = { host: "127.0.2.10", port: 5060 };
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder("latin1");

/**
 * Timers that never fire: transactions and dialogs stay in their tables, and each bench
 * iteration starts a fresh core instead of paying for timer runs inside a call.
 */
const IDLE_CLOCK: Clock = { now: () => 0, setTimer: () => 0, clearTimer: () => {} };

/** A core on the default config and the last message it sent to each side. */
function core(hiding: boolean) {
  const base = defaultConfig();
  const config: Config = { ...base, external: { ...base.external, topologyHiding: hiding } };
  const clock = IDLE_CLOCK;
  const last: Partial<Record<Side, Uint8Array>> = {};
  const proxy = new ProxyCore({
    config,
    clock,
    send: (target, bytes) => {
      last[target.side] = bytes;
      return Promise.resolve(true);
    },
    route: bridgePipeline(),
    media: undefined,
  });
  return { proxy, last };
}

type Env = ReturnType<typeof core>;

async function receive(env: Env, side: Side, source: Peer, text: string): Promise<void> {
  const host = side === "external" ? "127.0.1.1" : "127.0.2.1";
  env.proxy.receive({
    data: ENCODER.encode(text),
    source,
    side,
    proto: "udp",
    local: { proto: "udp", host, port: 5060 },
    connection: undefined,
  });
  for (let i = 0; i < 8; i++) await Promise.resolve();
}

/** What the core last sent to `side`, parsed. */
function sentTo(env: Env, side: Side): SipMessage {
  const parsed = parseMessage(DECODER.decode(env.last[side]));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

function answer(req: SipMessage, status: number, tag: string, contact: string): string {
  return buildResponse(req, status, status === 200 ? "OK" : "Ringing", {
    toTag: tag,
    headers: [
      ...req.headers.filter((h) => h.name === "record-route").map((h) =>
        ["Record-Route", h.value] as const
      ),
      ["Contact", contact],
    ],
  });
}

function inDialog(
  method: string,
  uri: string,
  via: string,
  ends: { from: string; to: string; callId: string; cseq: number; route: string },
): string {
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: ${via}`,
    `Route: ${ends.route}`,
    "Max-Forwards: 70",
    `From: ${ends.from}`,
    `To: ${ends.to}`,
    `Call-ID: ${ends.callId}`,
    `CSeq: ${ends.cseq} ${method}`,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

let n = 0;

/** A call from the phone to the PBX, ended by the phone. */
async function callIn(env: Env): Promise<void> {
  const id = ++n;
  await receive(
    env,
    "external",
    PHONE,
    [
      "INVITE sip:100@127.0.1.1 SIP/2.0",
      `Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKin${id};rport`,
      "Max-Forwards: 70",
      `From: "Alice" <sip:alice@example.com>;tag=a${id}`,
      "To: <sip:100@127.0.1.1>",
      `Call-ID: in${id}@192.0.2.50`,
      "CSeq: 1 INVITE",
      "Contact: <sip:alice@192.0.2.50:5062>",
      "User-Agent: phone/1.0",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  );
  const invite = sentTo(env, "internal");
  await receive(env, "internal", PBX, answer(invite, 180, `p${id}`, "<sip:100@127.0.2.10>"));
  await receive(env, "internal", PBX, answer(invite, 200, `p${id}`, "<sip:100@127.0.2.10>"));
  const ends = {
    from: `"Alice" <sip:alice@example.com>;tag=a${id}`,
    to: `<sip:100@127.0.1.1>;tag=p${id}`,
    callId: `in${id}@192.0.2.50`,
    route: "<sip:127.0.1.1:5060;lr>",
  };
  const target = "sip:100@127.0.1.1:5060";
  await receive(
    env,
    "external",
    PHONE,
    inDialog("ACK", target, `SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKack${id}`, {
      ...ends,
      cseq: 1,
    }),
  );
  await receive(
    env,
    "external",
    PHONE,
    inDialog("BYE", target, `SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKbye${id}`, {
      ...ends,
      cseq: 2,
    }),
  );
  const bye = sentTo(env, "internal");
  await receive(env, "internal", PBX, buildResponse(bye, 200, "OK"));
}

/** A call from the PBX to the phone, ended by the phone. */
async function callOut(env: Env): Promise<void> {
  const id = ++n;
  await receive(
    env,
    "internal",
    PBX,
    [
      "INVITE sip:bob@192.0.2.50:5062 SIP/2.0",
      `Via: SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKout${id}`,
      "Max-Forwards: 70",
      `From: "Reception" <sip:100@127.0.2.10>;tag=o${id}`,
      "To: <sip:bob@192.0.2.50>",
      `Call-ID: out${id}@127.0.2.10`,
      "CSeq: 1 INVITE",
      "Contact: <sip:100@127.0.2.10:5060>",
      "P-Asserted-Identity: <sip:100@127.0.2.10>",
      "User-Agent: PBX 9.1",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  );
  const invite = sentTo(env, "external");
  await receive(env, "external", PHONE, answer(invite, 180, `b${id}`, "<sip:bob@192.0.2.50:5062>"));
  await receive(env, "external", PHONE, answer(invite, 200, `b${id}`, "<sip:bob@192.0.2.50:5062>"));
  const ok = sentTo(env, "internal");
  const from = ok.headers.find((h) => h.name === "from")!.value;
  const to = ok.headers.find((h) => h.name === "to")!.value;
  await receive(
    env,
    "internal",
    PBX,
    inDialog("ACK", "sip:bob@192.0.2.50:5062", `SIP/2.0/UDP 127.0.2.10:5060;branch=z9hG4bKa${id}`, {
      from,
      to,
      callId: ok.callId,
      cseq: 1,
      route: "<sip:127.0.2.1:5060;lr>, <sip:127.0.1.1:5060;lr>",
    }),
  );
  // The phone hangs up, as it knows the dialog (Call-ID and hosts as hiding showed them).
  const seen = invite.headers;
  await receive(
    env,
    "external",
    PHONE,
    inDialog("BYE", "sip:100@127.0.1.1:5060", `SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKb${id}`, {
      from: `${seen.find((h) => h.name === "to")!.value};tag=b${id}`,
      to: seen.find((h) => h.name === "from")!.value,
      callId: invite.callId,
      cseq: 1,
      route: "<sip:127.0.1.1:5060;lr>",
    }),
  );
  const bye = sentTo(env, "internal");
  await receive(env, "internal", PBX, buildResponse(bye, 200, "OK"));
}

/** Calls per bench iteration, through one fresh core (its tables grow for these calls only). */
const CALLS = 100;

async function calls(hiding: boolean, call: (env: Env) => Promise<void>): Promise<void> {
  const env = core(hiding);
  for (let i = 0; i < CALLS; i++) await call(env);
}

Deno.bench("100 calls from outside, topology hidden", { group: "in" }, async () => {
  await calls(true, callIn);
});
Deno.bench("100 calls from outside, not hidden", { group: "in", baseline: true }, async () => {
  await calls(false, callIn);
});
Deno.bench("100 calls from the PBX, topology hidden", { group: "out" }, async () => {
  await calls(true, callOut);
});
Deno.bench("100 calls from the PBX, not hidden", { group: "out", baseline: true }, async () => {
  await calls(false, callOut);
});
