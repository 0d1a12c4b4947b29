/**
 * What a SIP message means for its media session: the rules of Kamailio's `rtpproxy_manage`, with
 * the session state standing in for tm's "INVITE had SDP" transaction flag. Pure.
 *
 * Requests:
 * - INVITE with SDP: offer.
 * - UPDATE with SDP: offer (RFC 3311). PRACK with SDP: the answer when the other party's offer
 *   (in a reliable 18x, RFC 3262) is open, else an offer.
 * - ACK with SDP: the answer to an offer made in the 2xx of the same INVITE (RFC 3261 §13.2.1).
 * - BYE: delete. CANCEL of an initial INVITE: delete. CANCEL of a re-INVITE: nothing here (its
 *   487 cancels the re-offer; rtpproxy would tear the call down).
 * Replies (`method` is the CSeq method):
 * - 1xx/2xx with SDP to INVITE: the answer when this INVITE carried the offer, else an offer.
 * - 2xx with SDP to UPDATE/PRACK: the answer to the offer made in that request.
 * - >= 300 to an initial INVITE: delete. >= 300 to a re-INVITE, UPDATE or PRACK: drop the open
 *   offer and keep the media (rtpproxy deletes the session, killing an established call).
 *
 * @module
 */

export const MEDIA_ACTION = {
  none: "none",
  offer: "offer",
  answer: "answer",
  /** The open offer failed: forget it, keep the media already agreed. */
  cancelOffer: "cancel-offer",
  delete: "delete",
} as const;
export type MediaAction = typeof MEDIA_ACTION[keyof typeof MEDIA_ACTION];

/** The state of the session the message belongs to, as far as the decision needs it. */
export interface OfferState {
  /** The session's last offer has not been answered (or cancelled) yet. */
  readonly open: boolean;
  /** That offer came from the party that sent this message's request (for a request: from the sender). */
  readonly fromRequestSender: boolean;
  /** That offer was made in this message's transaction (same CSeq number; ACK belongs to its INVITE). */
  readonly inTransaction: boolean;
}

export interface ManageInput {
  readonly kind: "request" | "response";
  /** Request method, or the CSeq method of a response. */
  readonly method: string;
  /** Status of a response; 0 for a request. */
  readonly status: number;
  readonly hasSdp: boolean;
  /** The request (for a response: its request) had a To tag. */
  readonly inDialog: boolean;
  /** Offer state of the matching session; undefined when there is no session or no offer. */
  readonly offer: OfferState | undefined;
}

/** Decides offer, answer, delete, cancel-offer or none for one message. */
export function decideMedia(input: ManageInput): MediaAction {
  const { method, hasSdp, offer } = input;
  if (input.kind === "request") {
    switch (method) {
      case "INVITE":
      case "UPDATE":
        return hasSdp ? MEDIA_ACTION.offer : MEDIA_ACTION.none;
      case "PRACK":
        if (!hasSdp) return MEDIA_ACTION.none;
        return offer?.open && !offer.fromRequestSender ? MEDIA_ACTION.answer : MEDIA_ACTION.offer;
      case "ACK":
        return hasSdp && offer?.open && !offer.fromRequestSender && offer.inTransaction
          ? MEDIA_ACTION.answer
          : MEDIA_ACTION.none;
      case "BYE":
        return MEDIA_ACTION.delete;
      case "CANCEL":
        return input.inDialog ? MEDIA_ACTION.none : MEDIA_ACTION.delete;
      default:
        return MEDIA_ACTION.none;
    }
  }
  const status = input.status;
  if (status < 101) return MEDIA_ACTION.none;
  const ownOffer = offer !== undefined && offer.open && offer.fromRequestSender &&
    offer.inTransaction;
  if (status >= 300) {
    if (method === "INVITE" && !input.inDialog) return MEDIA_ACTION.delete;
    if (method === "INVITE" || method === "UPDATE" || method === "PRACK") {
      return ownOffer ? MEDIA_ACTION.cancelOffer : MEDIA_ACTION.none;
    }
    return MEDIA_ACTION.none;
  }
  if (!hasSdp) return MEDIA_ACTION.none;
  switch (method) {
    case "INVITE":
      // SDP in a 1xx/2xx is the answer when the INVITE carried the offer, else it is the offer
      // (answered in PRACK or ACK). A repeated answer (183 then 200) is an answer again.
      return inviteCarriedOffer(offer) ? MEDIA_ACTION.answer : MEDIA_ACTION.offer;
    case "UPDATE":
    case "PRACK":
      return status < 300 && inviteCarriedOffer(offer) ? MEDIA_ACTION.answer : MEDIA_ACTION.none;
    default:
      return MEDIA_ACTION.none;
  }
}

/** The offer of this transaction came from the request's sender (answered or not). */
function inviteCarriedOffer(offer: OfferState | undefined): boolean {
  return offer !== undefined && offer.fromRequestSender && offer.inTransaction;
}
