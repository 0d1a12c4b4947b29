/**
 * A request's `SipContext` and a `ProxyActions` on the default config that records what was asked
 * of it, for testing pipeline steps and script functions without a proxy core.
 *
 * @module
 */
import type { Side } from "../../config/config.ts";
import { defaultConfig } from "../../config/default.ts";
import type { MediaOutcome } from "../../rtp/relay_types.ts";
import type { Edit } from "../../sbc/message/sip_message.ts";
import {
  advance,
  direction,
  mediaFlags,
  newContext,
  type ProxyActions,
  REQUEST_STATE,
  type SipContext,
} from "../../sbc/proxy/context.ts";
import { localSides } from "../../sbc/proxy/local_address.ts";
import type { ServerTransaction } from "../../sbc/transaction/server_transaction.ts";
import type { Peer } from "../../sbc/transport/peer.ts";
import { inbound } from "./core_env.ts";
import { PHONE } from "./phone_and_pbx.ts";
import { PbxPool } from "../../sbc/proxy/pbx_pool.ts";
import { newSipCounters } from "../../sbc/proxy/sip_counters.ts";
import { parse } from "./sip_text.ts";

/** What the fake actions were asked to do. */
export interface Calls {
  relays: { target: SipContext["target"]; edits: Edit[] }[];
  replies: { status: number; reason: string; headers: readonly (readonly [string, string])[] }[];
  media: { flags: string; from: Side; to: Side }[];
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
    pool: new PbxPool(config.pbx.targets, config.pbx.health, 0),
    counters: newSipCounters(),
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
      // The core's rule for which letters apply now and to the answers (mediaFlags).
      const letters = mediaFlags(config, ctx, flags);
      calls.media.push({ flags: letters.request, ...direction(ctx) });
      ctx.replyMediaFlags = letters.reply;
      return media;
    },
  };
  return { actions, calls };
}

/** A context for `text` received on a side; a fake server transaction unless it is an ACK. */
export function context(text: string, side: Side = "external", source: Peer = PHONE): SipContext {
  const msg = parse(text);
  const tx = msg.method === "ACK" ? undefined : { cancelled: false } as ServerTransaction;
  return newContext(msg, inbound(side, source, text), tx);
}
