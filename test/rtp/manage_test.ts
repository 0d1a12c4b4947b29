import assert from "node:assert/strict";
import { decideMedia, type ManageInput, type OfferState } from "../../rtp/manage.ts";

function req(method: string, hasSdp: boolean, extra: Partial<ManageInput> = {}): ManageInput {
  return {
    kind: "request",
    method,
    status: 0,
    hasSdp,
    inDialog: false,
    offer: undefined,
    ...extra,
  };
}
function res(
  method: string,
  status: number,
  hasSdp: boolean,
  extra: Partial<ManageInput> = {},
): ManageInput {
  return { kind: "response", method, status, hasSdp, inDialog: false, offer: undefined, ...extra };
}
const OWN: OfferState = { open: true, fromRequestSender: true, inTransaction: true };
const OWN_ANSWERED: OfferState = { open: false, fromRequestSender: true, inTransaction: true };
const THEIRS: OfferState = { open: true, fromRequestSender: false, inTransaction: true };

Deno.test("decideMedia() treats INVITE and UPDATE with SDP as offers", () => {
  assert.equal(decideMedia(req("INVITE", true)), "offer");
  assert.equal(decideMedia(req("INVITE", true, { inDialog: true, offer: OWN_ANSWERED })), "offer");
  assert.equal(decideMedia(req("UPDATE", true, { inDialog: true })), "offer");
  assert.equal(decideMedia(req("INVITE", false)), "none");
});

Deno.test("decideMedia() treats PRACK with SDP as an offer unless it answers a reliable 18x", () => {
  assert.equal(decideMedia(req("PRACK", true, { inDialog: true })), "offer");
  assert.equal(decideMedia(req("PRACK", true, { inDialog: true, offer: THEIRS })), "answer");
});

Deno.test("decideMedia() answers in 1xx/2xx when the INVITE carried the offer", () => {
  assert.equal(decideMedia(res("INVITE", 183, true, { offer: OWN })), "answer");
  assert.equal(decideMedia(res("INVITE", 200, true, { offer: OWN_ANSWERED })), "answer");
  assert.equal(decideMedia(res("INVITE", 200, false, { offer: OWN })), "none");
  assert.equal(decideMedia(res("INVITE", 100, true, { offer: OWN })), "none");
});

Deno.test("decideMedia() takes SDP in a reply to an SDP-less INVITE as the offer, ACK as answer", () => {
  assert.equal(decideMedia(res("INVITE", 200, true)), "offer");
  assert.equal(decideMedia(req("ACK", true, { inDialog: true, offer: THEIRS })), "answer");
  assert.equal(decideMedia(req("ACK", true, { inDialog: true })), "none");
  assert.equal(decideMedia(req("ACK", false, { inDialog: true, offer: THEIRS })), "none");
});

Deno.test("decideMedia() answers in the 2xx of UPDATE and PRACK", () => {
  assert.equal(decideMedia(res("UPDATE", 200, true, { inDialog: true, offer: OWN })), "answer");
  assert.equal(decideMedia(res("PRACK", 200, true, { inDialog: true, offer: OWN })), "answer");
  assert.equal(decideMedia(res("UPDATE", 200, true, { inDialog: true })), "none");
});

Deno.test("decideMedia() deletes on BYE, CANCEL and a failed initial INVITE", () => {
  assert.equal(decideMedia(req("BYE", false, { inDialog: true })), "delete");
  assert.equal(decideMedia(req("CANCEL", false)), "delete");
  assert.equal(decideMedia(res("INVITE", 486, false, { offer: OWN })), "delete");
  assert.equal(decideMedia(res("INVITE", 503, false)), "delete");
});

Deno.test("decideMedia() keeps media when a re-INVITE, UPDATE or PRACK fails", () => {
  const inDialog = { inDialog: true, offer: OWN };
  assert.equal(decideMedia(res("INVITE", 488, false, inDialog)), "cancel-offer");
  assert.equal(decideMedia(res("INVITE", 491, false, inDialog)), "cancel-offer");
  assert.equal(decideMedia(res("UPDATE", 500, false, inDialog)), "cancel-offer");
  assert.equal(decideMedia(res("INVITE", 408, false, { inDialog: true })), "none");
  assert.equal(decideMedia(req("CANCEL", false, { inDialog: true })), "none");
});

Deno.test("decideMedia() ignores other methods", () => {
  assert.equal(decideMedia(req("OPTIONS", true)), "none");
  assert.equal(decideMedia(req("MESSAGE", true)), "none");
  assert.equal(decideMedia(res("BYE", 200, false)), "none");
  assert.equal(decideMedia(res("OPTIONS", 200, true)), "none");
});
