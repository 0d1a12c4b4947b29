/**
 * `KSR.rtpproxy.rtpproxy_manage`: hands the message to the media relay (offer, answer or delete,
 * decided from the method, status and body as Kamailio's rtpproxy module does).
 *
 * The direction letters `i` and `e` are rtpproxy's first and second `-l` address. edgesbc has no
 * order setting, so `i` is the external side and `e` the internal side, the order of the seed
 * deployment (`-l WAN/LAN`). The relay takes the direction from the interfaces a message really
 * crosses; letters that disagree are reported once and otherwise ignored.
 */
import { getLogger } from "@logtape/logtape";
import type { Side } from "../../config/config.ts";
import { direction } from "../proxy/context.ts";
import { ROUTE_KIND, type ScriptRun } from "./ksr_run.ts";
import type { KsrRow } from "./ksr_row.ts";

const log = getLogger(["edgesbc", "script"]);

/** rtpproxy bridge-mode letter of each side. */
export const SIDE_LETTER: Readonly<Record<Side, "i" | "e">> = { external: "i", internal: "e" };

const DIRECTION = /[ie]/gi;
const warned = new Set<string>();

/** Removes the direction letters, reporting (once per flags and direction) when they disagree. */
export function stripDirection(
  flags: string,
  { from, to }: { readonly from: Side; readonly to: Side },
): string {
  const given = (flags.match(DIRECTION) ?? []).join("").toLowerCase();
  const real = SIDE_LETTER[from] + SIDE_LETTER[to];
  if (given !== "" && given !== real && given !== real[0]) {
    const key = `${flags}|${real}`;
    if (!warned.has(key) && warned.size < 64) {
      warned.add(key);
      log.warn(
        'KSR.rtpproxy.rtpproxy_manage() flags "{flags}" name direction "{given}" but the message ' +
          'goes {from} to {to} ("{real}"); the real direction is used',
        { flags, given, from, to, real },
      );
    }
  }
  return flags.replace(DIRECTION, "");
}

const rtpproxyManageRow: KsrRow = {
  module: "rtpproxy",
  name: "rtpproxy_manage",
  params: ["str?"],
  returns: "int",
  kamailio: "KSR.rtpproxy.rtpproxy_manage",
  doc: "Relays the media of this message (rewrites its SDP) and of the answers to it. Without " +
    "flags, each side's configured `flags` apply (what the built-in pipeline does); with flags " +
    '(`"cow"`; see docs/configuration.md), they apply both ways. `i` = external, `e` = ' +
    "internal; the direction is always the real one. In reply routes it only reports whether " +
    "the request was managed, as the core already managed the answer.",
  codes: [
    [1, "managed (or nothing to do for this message)"],
    [-1, "the media relay refused (no ports, bad SDP): sl_reply_error answers its 503/488"],
    [-2, "reply route: the request was not managed, so neither is the answer"],
  ],
  routes: [ROUTE_KIND.request, ROUTE_KIND.failure, ROUTE_KIND.branch, ROUTE_KIND.reply],
  mutates: true,
  fn: (run: ScriptRun, flags?: string) => {
    const { ctx, actions } = run;
    if (run.kind === ROUTE_KIND.reply) return ctx.replyMediaFlags !== undefined ? 1 : -2;
    const letters = flags === undefined ? undefined : stripDirection(flags, direction(ctx));
    const outcome = actions.manageMedia(ctx, letters);
    if (outcome.kind === "reject") {
      run.state.lastError = { status: outcome.status, reason: outcome.reason };
      return -1;
    }
    return 1;
  },
};

/** The `KSR.rtpproxy` module. */
export const RTPPROXY_MODULE: readonly KsrRow[] = [rtpproxyManageRow];
