/**
 * PBX failover: calls from outside go to the configured PBX; when it answers 5xx or does not
 * answer at all, the call is tried once more on a second PBX before the caller hears the failure.
 * The rest is the bridge routing of examples/bridge.ts, shortened.
 */

/** The standby PBX, as a SIP URI (Kamailio socket `udp:127.0.2.11:5060`). */
const BACKUP_PBX = "sip:127.0.2.11:5060";

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
    KSR.pv.sets("$du", KSR.sbc.pbx());
    if (KSR.is_method("REGISTER")) KSR.path.add_path();
    else KSR.rr.record_route();
    if (KSR.is_method("INVITE")) KSR.tm.t_on_failure("pbx_failover");
  } else if (!KSR.is_method("REGISTER")) {
    KSR.rr.record_route();
  }
  if (KSR.is_method("INVITE|ACK|BYE|CANCEL|UPDATE|PRACK") && KSR.rtpproxy.rtpproxy_manage() < 0) {
    KSR.sl.sl_reply_error();
    return;
  }
  if (KSR.tm.t_relay() < 0) KSR.sl.sl_reply_error();
}

/** Failure route: the first PBX failed. Runs once; a failure of the backup goes to the caller. */
export function pbx_failover(): void {
  if (KSR.tm.t_is_canceled()) return;
  if (KSR.tm.t_check_status("5[0-9][0-9]") || KSR.tm.t_branch_timeout()) {
    KSR.info(`PBX failed with ${KSR.pv.get("$T_reply_code")}, trying ${BACKUP_PBX}`);
    KSR.pv.sets("$du", BACKUP_PBX);
    KSR.tm.t_relay();
  }
}
