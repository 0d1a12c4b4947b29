/**
 * Test helpers for routing scripts: SIP text builders, a SipContext on a fake ProxyActions that
 * records what was asked of it, and a way to call KSR functions as a given route kind.
 */
import type { Role } from "../../../config/config.ts";
import { defaultConfig } from "../../../config/default.ts";
import type { MediaOutcome } from "../../../rtp/relay_types.ts";
import {
  advance,
  direction,
  mediaFlags,
  newContext,
  type ProxyActions,
  REQUEST_STATE,
  type SipContext,
} from "../../../sbc/proxy/context.ts";
import {
  callWithRun,
  requestState,
  type RouteKind,
  type ScriptRun,
  startRequest,
} from "../../../sbc/script/ksr_run.ts";
import { localSides } from "../../../sbc/proxy/local_address.ts";
import { ManualClock } from "../../../sbc/transaction/clock.ts";
import { ProxyCore } from "../../../sbc/proxy/proxy_core.ts";
import { type RequestRoute, type RouteHooks } from "../../../sbc/proxy/context.ts";
import {
  type Edit,
  getHeaderValues,
  parseMessage,
  type SipMessage,
} from "../../../sbc/message/message.ts";
import { toBytes } from "../../../sbc/message/serialize.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { TIMER } from "../../../sbc/transaction/timers.ts";
import type { SendTarget } from "../../../sbc/transport/transport.ts";
import type { ServerTransaction } from "../../../sbc/transaction/server_transaction.ts";
import type { Peer } from "../../../sbc/transport/peer.ts";

export const PHONE: Peer = { host: "192.0.2.50", port: 5062 };
export const PBX: Peer = { host: "127.0.2.10", port: 5060 };

export function parse(text: string): SipMessage {
  const parsed = parseMessage(text);
  if (!parsed.ok) throw new Error(`${parsed.error.message}\n${text}`);
  return parsed.value;
}

export function sip(lines: string[], body = ""): string {
  return [...lines, `Content-Length: ${body.length}`, "", body].join("\r\n");
}

/** A request from the phone (or, with `toTag`, in dialog); `extra` header lines go last. */
export function request(
  method: string,
  opts: { uri?: string; toTag?: string; extra?: string[]; mf?: number; callId?: string } = {},
): string {
  return sip([
    `${method} ${opts.uri ?? "sip:100@127.0.1.1"} SIP/2.0`,
    "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKphone1;rport",
    ...(opts.mf === undefined
      ? ["Max-Forwards: 70"]
      : opts.mf < 0
      ? []
      : [`Max-Forwards: ${opts.mf}`]),
    'From: "Alice" <sip:alice@example.com>;tag=a1',
    `To: <sip:100@127.0.1.1>${opts.toTag ? `;tag=${opts.toTag}` : ""}`,
    `Call-ID: ${opts.callId ?? "call1@192.0.2.50"}`,
    `CSeq: 1 ${method}`,
    "Contact: <sip:alice@192.0.2.50:5062>",
    "User-Agent: phone/1.0",
    ...(opts.extra ?? []),
  ]);
}

/** What the fake actions were asked to do. */
export interface Calls {
  relays: { target: SipContext["target"]; edits: Edit[] }[];
  replies: { status: number; reason: string; headers: readonly (readonly [string, string])[] }[];
  media: { flags: string; from: Role; to: Role }[];
}

/** A ProxyActions on the default config that records calls; `media` decides manageMedia. */
export function fakeActions(media: MediaOutcome = { kind: "none" }): {
  actions: ProxyActions;
  calls: Calls;
} {
  const config = defaultConfig();
  const calls: Calls = { relays: [], replies: [], media: [] };
  const actions: ProxyActions = {
    config,
    sides: localSides(config),
    relay(ctx) {
      if (!advance(ctx, REQUEST_STATE.relayed)) return Promise.resolve(false);
      calls.relays.push({ target: ctx.target, edits: [...ctx.edits] });
      return Promise.resolve(true);
    },
    reply(ctx, status, reason, headers = []) {
      if (!advance(ctx, status < 200 ? REQUEST_STATE.provisional : REQUEST_STATE.answered)) return;
      calls.replies.push({ status, reason, headers: [...headers] });
    },
    manageMedia(ctx, flags) {
      const letters = mediaFlags(config, ctx, flags);
      calls.media.push({ flags: letters.request, ...direction(ctx) });
      ctx.replyMediaFlags = letters.reply;
      return media;
    },
  };
  return { actions, calls };
}

/** A context for `text` received on a side; a fake server transaction unless it is an ACK. */
export function context(text: string, iface: Role = "external", source: Peer = PHONE): SipContext {
  const msg = parse(text);
  const local = iface === "external"
    ? { proto: "udp" as const, host: "127.0.1.1", port: 5060 }
    : { proto: "udp" as const, host: "127.0.2.1", port: 5060 };
  const tx = msg.method === "ACK" ? undefined : { cancelled: false } as ServerTransaction;
  return newContext(
    msg,
    { data: toBytes(text), source, iface, proto: "udp", local, connection: undefined },
    tx,
  );
}

/** A run of `kind` on `ctx`, as the script runner makes one. */
export function makeRun(
  kind: RouteKind,
  ctx: SipContext,
  actions: ProxyActions,
  opts: { reply?: SipMessage; replyEdits?: Edit[]; functions?: string[] } = {},
): ScriptRun {
  const fn = () => {};
  return {
    kind,
    ctx,
    actions,
    state: requestState(ctx) ?? startRequest(ctx, { actions, hooks: {} }),
    functions: new Map((opts.functions ?? []).map((n) => [n, fn])),
    reply: opts.reply,
    replyEdits: opts.replyEdits,
    relay: false,
    dropped: false,
  };
}

/** Calls `body` with `run` as the current run (as a script function would be called). */
export function within<T>(run: ScriptRun, body: () => T): T {
  let value: T | undefined;
  callWithRun(run, () => {
    value = body();
  });
  return value as T;
}

/** What the core sent: where, and the parsed message. */
export interface Sent {
  readonly target: SendTarget;
  readonly text: string;
  readonly msg: SipMessage;
}

/** A ProxyCore on the default config routing with `route`, a manual clock and a fake send. */
export function coreEnv(route: RequestRoute, hooks: RouteHooks = {}) {
  const clock = new ManualClock();
  const sent: Sent[] = [];
  const core = new ProxyCore({
    config: defaultConfig(),
    clock,
    send: (target, bytes) => {
      const text = new TextDecoder().decode(bytes);
      sent.push({ target, text, msg: parse(text) });
      return Promise.resolve(true);
    },
    route,
    media: undefined,
  });
  core.setRoute(route, hooks);
  /** Feeds one message as received on a side, then lets the async routing finish. */
  const receive = async (iface: Role, source: Peer, text: string) => {
    const local = iface === "external"
      ? { proto: "udp" as const, host: "127.0.1.1", port: 5060 }
      : { proto: "udp" as const, host: "127.0.2.1", port: 5060 };
    core.receive({
      data: toBytes(text),
      source,
      iface,
      proto: "udp",
      local,
      connection: undefined,
    });
    await settle();
  };
  let seen = 0;
  /** Everything sent since the last call. */
  const take = (): Sent[] => {
    const out = sent.slice(seen);
    seen = sent.length;
    return out;
  };
  /** Runs every timer to the end and checks nothing is left. */
  const finish = () => {
    clock.advance(TIMER.C + TIMER.H + TIMER.J);
    core.close();
  };
  return { clock, core, receive, take, finish };
}

/** Lets pending promises (routing, relays) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** The PBX's answer to a request it got: Record-Route copied, To tag added. */
export function answer(
  req: SipMessage,
  status: number,
  reason: string,
  headers: [string, string][] = [],
): string {
  return buildResponse(req, status, reason, {
    ...(status > 100 && { toTag: "pbx1" }),
    headers: [
      ...getHeaderValues(req, "record-route").map((r) => ["Record-Route", r] as const),
      ...headers,
    ],
  });
}
