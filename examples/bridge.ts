/**
 * The built-in bridge pipeline as a routing script: what edgesbc does with no `routing.script`.
 * Start here and change what you need (config: `[routing] script = "bridge.ts"`).
 *
 * - Max-Forwards (483 at zero), OPTIONS pings to the SBC answered 200.
 * - In-dialog requests follow our Record-Route entries to the other side; others get 404.
 * - Initial requests from outside go to the PBX only (never an open relay); the core drops any
 *   Route set they brought; REGISTER with Path.
 * - Initial requests from the PBX go to their next Route or Request-URI, out of the external side.
 * - Media of INVITE, ACK, BYE, CANCEL, UPDATE and PRACK through the relay, each side's flags.
 */

const ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, PRACK, INFO, REFER, NOTIFY, " +
  "SUBSCRIBE, MESSAGE";

export function ksr_request_route(): void {
  if (KSR.maxfwd.process_maxfwd(70) < 0) {
    KSR.sl.sl_reply_error(); // 483 Too Many Hops
    return;
  }
  if (isPingToUs()) {
    KSR.hdr.append_to_reply(`Allow: ${ALLOW}`);
    KSR.hdr.append_to_reply("Accept: application/sdp");
    KSR.sl.send_reply(200, "OK");
    return;
  }
  const routed = KSR.rr.loose_route() > 0;
  if (!KSR.pv.is_null("$tt")) {
    // In dialog: only what our Record-Route brought here.
    if (!routed) {
      if (KSR.is_method("ACK")) KSR.x.drop();
      KSR.sl.send_reply(404, "Not Here");
      return;
    }
  } else if (KSR.sbc.from_side() === "external") {
    KSR.pv.sets("$du", KSR.sbc.pbx());
    if (KSR.is_method("REGISTER")) KSR.path.add_path();
    else KSR.rr.record_route();
  } else {
    if (!routed && KSR.is_myself(KSR.pv.get("$ru") as string)) {
      KSR.sl.send_reply(404, "Not Found");
      return;
    }
    if (!KSR.is_method("REGISTER")) KSR.rr.record_route();
  }
  if (KSR.is_method("INVITE|ACK|BYE|CANCEL|UPDATE|PRACK")) {
    if (KSR.rtpproxy.rtpproxy_manage() < 0) {
      KSR.sl.sl_reply_error(); // the relay's 503 or 488
      return;
    }
  }
  if (KSR.tm.t_relay() < 0) KSR.sl.sl_reply_error(); // 416 for a tel: Request-URI
}

/** OPTIONS for the SBC itself (no user part, no Route): a keepalive ping. */
function isPingToUs(): boolean {
  return KSR.is_method("OPTIONS") && KSR.pv.is_null("$tt") && !KSR.hdr.is_present("Route") &&
    KSR.pv.is_null("$rU") && KSR.is_myself(KSR.pv.get("$ru") as string);
}
