/**
 * Source allow list: requests from the external side are accepted only from the listed addresses
 * (single IPv4 addresses or CIDR blocks); everything else gets 403 (ACKs are dropped, as they
 * are never answered). The PBX side is trusted. Routing as in examples/bridge.ts, shortened.
 */

const ALLOWED = ["127.0.1.2", "127.0.1.3", "198.51.100.0/24"];

export function ksr_request_route(): void {
  if (KSR.sbc.from_side() === "external" && !isAllowed(KSR.pv.get("$si") as string)) {
    KSR.notice(`Refusing ${KSR.pv.get("$rm")} from ${KSR.pv.get("$si")}`);
    if (KSR.is_method("ACK")) KSR.x.drop();
    KSR.sl.send_reply(403, "Forbidden");
    return;
  }
  if (KSR.maxfwd.process_maxfwd(70) < 0) {
    KSR.sl.sl_reply_error();
    return;
  }
  const routed = KSR.rr.loose_route() > 0;
  if (!KSR.pv.is_null("$tt")) {
    if (!routed) {
      if (KSR.is_method("ACK")) KSR.x.drop();
      KSR.sl.send_reply(404, "Not Here");
      return;
    }
  } else if (KSR.sbc.from_side() === "external") {
    KSR.pv.sets("$du", KSR.sbc.pbx());
    if (KSR.is_method("REGISTER")) KSR.path.add_path();
    else KSR.rr.record_route();
  } else if (!KSR.is_method("REGISTER")) {
    KSR.rr.record_route();
  }
  if (KSR.is_method("INVITE|ACK|BYE|CANCEL|UPDATE|PRACK") && KSR.rtpproxy.rtpproxy_manage() < 0) {
    KSR.sl.sl_reply_error();
    return;
  }
  if (KSR.tm.t_relay() < 0) KSR.sl.sl_reply_error();
}

function isAllowed(ip: string): boolean {
  return ALLOWED.some((entry) => inBlock(ip, entry));
}

/** IPv4 `a.b.c.d` against `a.b.c.d` or `a.b.c.d/n`. */
function inBlock(ip: string, block: string): boolean {
  const [base, bits = "32"] = block.split("/");
  const addr = ipv4(ip);
  const net = ipv4(base ?? "");
  if (addr === undefined || net === undefined) return false;
  const n = Number(bits);
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return ((addr & mask) >>> 0) === ((net & mask) >>> 0);
}

function ipv4(text: string): number | undefined {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    return undefined;
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}
