/**
 * rtpproxy's part of `edgesbc import`: the flags of the rtpproxy_manage calls as interface flags,
 * and its port range and session timeout as `[media]`.
 */

import type { ImportState } from "./_findings.ts";
import type { RtpCall } from "./_routes.ts";
import { type parseRtpproxyArgs, RTPPROXY_DEFAULTS } from "./rtpproxy_args.ts";
import { INTERFACE_FLAGS, REFUSED_FLAGS } from "../schema.ts";

/** Modifier letters for both sides, and the calls they came from. */
export function sideFlags(calls: readonly RtpCall[], state: ImportState): {
  value: string;
  sources: string[];
} {
  const supported = INTERFACE_FLAGS.map((flag) => flag.letter);
  let value = "";
  const sources: string[] = [];
  for (const call of calls) {
    sources.push(`${call.text} (${call.route}, line ${call.line})`);
    // Direction letters are rtpproxy's: edgesbc derives them, so they go.
    const letters = call.flags.replace(/z[0-9]*/gi, (z) => {
      state.notes.push(`${call.text}: "${z}" (repacketization) is not supported: dropped`);
      return "";
    });
    for (const letter of letters.toLowerCase()) {
      if (letter === "i" || letter === "e") continue;
      if (supported.includes(letter)) {
        if (!value.includes(letter)) value += letter;
        continue;
      }
      const refused = REFUSED_FLAGS.find((entry) => entry.letters.includes(letter));
      state.notes.push(
        `${call.text}: flag "${letter}" dropped: ${refused?.reason ?? "unknown rtpproxy flag"}`,
      );
    }
    if (call.conditions.length > 0) {
      // The condition cannot be mapped to a receiving side: both sides get the flags.
      state.notes.push(
        `${call.text} (${call.route}, line ${call.line}) runs inside ` +
          `${call.conditions.join(", inside ")}, which says nothing edgesbc can map to a side: ` +
          "its flags were given to both sides",
      );
    }
  }
  if (value.includes("a") && value.includes("w")) {
    state.notes.push(`flags "a" and "w" both used: "w" dropped (symmetric is the default)`);
    value = value.replace("w", "");
  }
  return { value, sources };
}

/** The `[media]` ports and timeout from rtpproxy -m/-M/-T, with `# from:` comments. */
export function mediaLines(
  rtp: ReturnType<typeof parseRtpproxyArgs> | undefined,
  state: ImportState,
): string[] {
  const lines: string[] = [];
  let min = rtp?.portMin ?? RTPPROXY_DEFAULTS.portMin;
  let max = rtp?.portMax ?? RTPPROXY_DEFAULTS.portMax;
  const given = [
    rtp?.portMin === undefined ? "" : `-m ${rtp.portMin}`,
    rtp?.portMax === undefined ? "" : `-M ${rtp.portMax}`,
  ].filter((s) => s !== "").join(" ");
  lines.push(
    given === ""
      ? `# rtpproxy default port range ${min}-${max} (no -m/-M)`
      : `# from: rtpproxy ${given}` +
        (given.includes("-m") && given.includes("-M")
          ? ""
          : " (the other end is rtpproxy's default)"),
  );
  // rtpproxy rounds an odd minimum up, as edgesbc needs an even RTP port.
  if (min % 2 === 1) min++;
  // edgesbc keeps RTP off the privileged ports (media.ports min is 1024).
  if (min < 1024 || max > 65535) {
    const [from, to] = [Math.max(min, 1024), Math.min(max, 65535)];
    state.notes.push(`rtpproxy port range ${min}-${max} narrowed to ${from}-${to} for edgesbc`);
    [min, max] = [from, to];
  }
  if (max < min + 1) {
    state.notes.push(`rtpproxy port range ${min}-${max} holds no RTP/RTCP pair: 10000-20000 used`);
    [min, max] = [10000, 20000];
  }
  lines.push(`ports = [${min}, ${max}]`);
  const ttl = rtp?.ttl ?? RTPPROXY_DEFAULTS.ttl;
  lines.push(
    rtp?.ttl === undefined
      ? `# rtpproxy default session timeout (no -T)`
      : `# from: rtpproxy -T ${ttl}`,
  );
  lines.push(`timeout = ${Math.max(1, Math.min(86400, ttl))}`);
  return lines;
}
