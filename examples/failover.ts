/**
 * PBX failover with the pool: calls from outside go to the best PBX target that is up
 * (`[pbx] targets`, health-checked); when it answers 5xx or 408, or does not answer within 2 s,
 * the call goes on to the next one (Kamailio's dispatcher failure route). This is what the
 * built-in pipeline does; a script can change the rules.
 * The rest is the bridge routing of examples/bridge.ts, shortened.
 */

export function ksr_request_route(): void {
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
    if (KSR.dispatcher.ds_select_dst(1, 8) < 0) {
      KSR.hdr.append_to_reply("Retry-After: 30\r\n");
      KSR.sl.send_reply(503, "No PBX Available");
      return;
    }
    if (KSR.is_method("REGISTER")) KSR.path.add_path();
    else KSR.rr.record_route();
    if (KSR.is_method("INVITE")) {
      // A PBX that does not answer within 2 s is given up; one that rings has 60 s.
      KSR.tm.t_set_fr(60000, 2000);
      KSR.tm.t_on_failure("pbx_failover");
    }
  } else if (!KSR.is_method("REGISTER")) {
    KSR.rr.record_route();
  }
  if (KSR.is_method("INVITE|ACK|BYE|CANCEL|UPDATE|PRACK") && KSR.rtpproxy.rtpproxy_manage() < 0) {
    KSR.sl.sl_reply_error();
    return;
  }
  if (KSR.tm.t_relay() < 0) KSR.sl.sl_reply_error();
}

/** Failure route: the PBX failed; the next target up gets the call, until none is left. */
export function pbx_failover(): void {
  if (KSR.tm.t_is_canceled()) return;
  if (KSR.tm.t_check_status("408|5[0-9][0-9]") || KSR.tm.t_branch_timeout()) {
    if (KSR.dispatcher.ds_next_dst() < 0) return;
    KSR.info(`PBX failed with ${KSR.pv.get("$T_reply_code")}, trying ${KSR.pv.get("$du")}`);
    KSR.tm.t_on_failure("pbx_failover");
    KSR.tm.t_relay();
  }
}
