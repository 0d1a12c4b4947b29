/**
 * A `ProxyCore` on the default config for unit tests: a manual clock, a `send` that records and
 * parses what went out, and messages fed in as if received on a side. Media is off unless the
 * test hands in a relay (`media`).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Config, Side, SipProto } from "../../config/config.ts";
import { defaultConfig } from "../../config/default.ts";
import type { SipMessage } from "../../sbc/message/sip_message.ts";
import { toBytes } from "../../sbc/message/serialize.ts";
import { bridgePipeline } from "../../sbc/proxy/pipeline.ts";
import { type CoreOptions, ProxyCore } from "../../sbc/proxy/proxy_core.ts";
import { type RequestRoute, type RouteHooks } from "../../sbc/proxy/context.ts";
import { TIMER } from "../../sbc/transaction/timers.ts";
import type { SendTarget } from "../../sbc/transport/transport.ts";
import type { Inbound } from "../../sbc/transport/transport.ts";
import type { Peer } from "../../sbc/transport/peer.ts";
import { ManualClock } from "./manual_clock.ts";
import { parse } from "./sip_text.ts";

/** What the core sent: where, the text, and the parsed message. */
export interface Sent {
  readonly target: SendTarget;
  readonly text: string;
  readonly msg: SipMessage;
}

/** `text` as received over `proto` on a side's socket of the default config (port 5060). */
export function inbound(side: Side, source: Peer, text: string, proto: SipProto = "udp"): Inbound {
  const host = side === "external" ? "127.0.1.1" : "127.0.2.1";
  return {
    data: toBytes(text),
    source,
    side,
    proto,
    local: { proto, host, port: 5060 },
    connection: undefined,
  };
}

/** Lets pending promises (routing awaits address resolution, immediate for IP literals) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export interface CoreEnvOptions {
  /** Default: the built-in bridge pipeline. */
  readonly route?: RequestRoute;
  readonly hooks?: RouteHooks;
  /** The media relay the core manages SDP with; default none. */
  readonly media?: NonNullable<CoreOptions["media"]>;
  /** Default: the embedded default config. */
  readonly config?: Config;
  /** Default: a new one; pass the relay's clock so both move together. */
  readonly clock?: ManualClock;
  /**
   * The core's wall clock (the times in the call log), in ms since 1970, when `clock` reads 0;
   * it then moves with `clock`. Default: the real time (`Date.now`), which does not.
   */
  readonly now?: number;
}

/** The core under test and the means to drive it. */
export interface CoreEnv {
  readonly clock: ManualClock;
  readonly core: ProxyCore;
  /** Everything sent so far. */
  readonly sent: readonly Sent[];
  /** Feeds one message as received on a side, then lets the async routing finish. */
  receive(side: Side, source: Peer, text: string, proto?: SipProto): Promise<void>;
  /** Everything sent since the last call. */
  take(): Sent[];
  /**
   * Advances the clock by `ms` (default Timer C + Timer H, by when every transaction has ended),
   * asserts no transaction and no timer is left, and closes the core.
   */
  finish(ms?: number): void;
}

/** A ProxyCore on the default config with a manual clock and a recording send. */
export function coreEnv(options: CoreEnvOptions = {}): CoreEnv {
  const clock = options.clock ?? new ManualClock();
  const sent: Sent[] = [];
  const route = options.route ?? bridgePipeline();
  const wallStart = options.now;
  const core = new ProxyCore({
    config: options.config ?? defaultConfig(),
    clock,
    ...(wallStart !== undefined && { now: () => wallStart + clock.now() }),
    send: (target, bytes) => {
      const text = new TextDecoder().decode(bytes);
      sent.push({ target, text, msg: parse(text) });
      return Promise.resolve(true);
    },
    route,
    media: options.media,
  });
  core.setRoute(route, options.hooks ?? {});
  let seen = 0;
  return {
    clock,
    core,
    sent,
    async receive(side, source, text, proto = "udp") {
      core.receive(inbound(side, source, text, proto));
      await settle();
    },
    take() {
      const out = sent.slice(seen);
      seen = sent.length;
      return out;
    },
    finish(ms = TIMER.C + TIMER.H) {
      clock.advance(ms);
      assert.deepEqual(core.transactions, { server: 0, client: 0 }, "transactions left");
      assert.equal(clock.pending, 0, "timers left");
      core.close();
    },
  };
}
