/**
 * Header policy at the edge, on top of the bridge routing (shortened from examples/bridge.ts):
 * - going out (towards the external side), every `X-Internal-*` header is removed, from requests
 *   the PBX sends and from answers the PBX gives to outside callers;
 * - going in, any P-Asserted-Identity from outside is dropped (RFC 3325 §5: only trusted peers may
 *   assert) and one built from the From URI is added for the PBX.
 */

const INTERNAL_HEADERS = "^X-Internal-";

export function ksr_request_route(): void {
  if (KSR.maxfwd.process_maxfwd(70) < 0) {
    KSR.sl.sl_reply_error();
    return;
  }
  const routed = KSR.rr.loose_route() > 0;
  const inDialog = !KSR.pv.is_null("$tt");
  if (inDialog && !routed) {
    if (KSR.is_method("ACK")) KSR.x.drop();
    KSR.sl.send_reply(404, "Not Here");
    return;
  }
  if (KSR.sbc.from_side() === "external") {
    KSR.hdr.remove("P-Asserted-Identity");
    const user = KSR.pv.get("$fU");
    const host = KSR.pv.get("$fd");
    if (user !== null && host !== null) {
      KSR.hdr.append(`P-Asserted-Identity: <sip:${user}@${host}>`);
    }
    if (!inDialog) {
      KSR.pv.sets("$du", KSR.sbc.pbx());
      if (KSR.is_method("REGISTER")) KSR.path.add_path();
      else KSR.rr.record_route();
    }
  } else {
    KSR.textops.remove_hf_re(INTERNAL_HEADERS);
    if (!inDialog && !KSR.is_method("REGISTER")) KSR.rr.record_route();
  }
  if (KSR.is_method("INVITE|ACK|BYE|CANCEL|UPDATE|PRACK") && KSR.rtpproxy.rtpproxy_manage() < 0) {
    KSR.sl.sl_reply_error();
    return;
  }
  if (KSR.tm.t_relay() < 0) KSR.sl.sl_reply_error();
}

/** Every answer: those going back to an outside caller lose the internal headers too. */
export function ksr_reply_route(): void {
  if (KSR.sbc.from_side() === "external") KSR.textops.remove_hf_re(INTERNAL_HEADERS);
}
