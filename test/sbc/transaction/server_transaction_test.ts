import assert from "node:assert/strict";
import type { SipProto } from "../../../config/config.ts";
import type { SipMessage } from "../../../sbc/message/sip_message.ts";
import { toBytes } from "../../../sbc/message/serialize.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { T1, T2, TIMER } from "../../../sbc/transaction/timers.ts";
import { TX_STATE } from "../../../sbc/transaction/transaction.ts";
import { type SendTarget } from "../../../sbc/transport/transport.ts";
import {
  type ServerTransaction,
  ServerTransactions,
} from "../../../sbc/transaction/server_transaction.ts";
import { ManualClock } from "../../kit/manual_clock.ts";
import { recordingSend } from "../../kit/recording_send.ts";
import { PHONE, request as phoneRequest, type RequestOptions } from "../../kit/phone_and_pbx.ts";
import { parse } from "../../kit/sip_text.ts";

/** A request as the phone sends it (the kit's), parsed. */
function request(method: string, options: RequestOptions = {}): SipMessage {
  return parse(phoneRequest(method, options));
}

function setup(proto: SipProto = "udp") {
  const clock = new ManualClock();
  const { sent, send } = recordingSend();
  const servers = new ServerTransactions(clock, send);
  const replyTo: SendTarget = {
    side: "external",
    proto,
    dest: PHONE,
    connection: undefined,
  };
  return { clock, sent, servers, replyTo };
}

function answer(tx: ServerTransaction, status: number, reason: string): Uint8Array {
  return toBytes(buildResponse(tx.request, status, reason, { toTag: "pbx1" }));
}

function newTx(servers: ServerTransactions, msg: SipMessage, replyTo: SendTarget) {
  const match = servers.receive(msg, replyTo);
  assert.equal(match.kind, "new");
  return (match as { tx: ServerTransaction }).tx;
}

Deno.test("ServerTransactions.receive() creates an INVITE transaction in Proceeding and others in Trying", () => {
  const { clock, servers, replyTo } = setup();
  const invite = newTx(servers, request("INVITE"), replyTo);
  assert.equal(invite.invite, true);
  assert.equal(invite.state, TX_STATE.proceeding);
  const options = newTx(servers, request("OPTIONS", { branch: "z9hG4bKopt" }), replyTo);
  assert.equal(options.invite, false);
  assert.equal(options.state, TX_STATE.trying);
  assert.equal(servers.size, 2);
  servers.close();
  assert.equal(servers.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.receive() absorbs a retransmitted INVITE by resending the last answer", () => {
  const { clock, sent, servers, replyTo } = setup();
  const tx = newTx(servers, request("INVITE"), replyTo);
  assert.deepEqual(servers.receive(request("INVITE"), replyTo), { kind: "retransmission" });
  assert.equal(sent.length, 0, "nothing to resend before the first answer");
  servers.respond(tx, 100, answer(tx, 100, "Trying"));
  assert.deepEqual(servers.receive(request("INVITE"), replyTo), { kind: "retransmission" });
  assert.equal(sent.length, 2);
  assert.equal(sent[1], sent[0]);
  assert.match(sent[1]!, /^SIP\/2\.0 100 Trying\r\n/);
  servers.close();
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.receive() keys on branch, sent-by and method (RFC 3261 §17.2.3)", () => {
  const { clock, servers, replyTo } = setup();
  newTx(servers, request("INVITE"), replyTo);
  // Same branch from another sent-by, or a different branch: different transactions.
  newTx(servers, request("INVITE", { host: "192.0.2.51", callId: "call1@192.0.2.50" }), replyTo);
  newTx(servers, request("INVITE", { branch: "z9hG4bKphone2" }), replyTo);
  // Same branch and sent-by but another method (not ACK or CANCEL): another transaction.
  newTx(servers, request("OPTIONS"), replyTo);
  assert.equal(servers.size, 4);
  servers.close();
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.receive() matches pre-RFC 3261 requests by Call-ID, CSeq and From tag", () => {
  const { clock, sent, servers, replyTo } = setup();
  const tx = newTx(servers, request("INVITE", { branch: "oldstyle1" }), replyTo);
  servers.respond(tx, 486, answer(tx, 486, "Busy Here"));
  assert.deepEqual(servers.receive(request("INVITE", { branch: "oldstyle1" }), replyTo), {
    kind: "retransmission",
  });
  assert.equal(sent.length, 2);
  // The ACK of a 2543 peer carries the INVITE's CSeq number; it matches the INVITE.
  const ack = request("ACK", { branch: "oldstyle2", toTag: "pbx1" });
  assert.deepEqual(servers.receive(ack, replyTo), { kind: "ack-absorbed" });
  assert.equal(tx.state, TX_STATE.confirmed);
  servers.close();
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.receive() absorbs the ACK for a failure answer and moves to Confirmed", () => {
  const { clock, sent, servers, replyTo } = setup();
  const tx = newTx(servers, request("INVITE"), replyTo);
  servers.respond(tx, 486, answer(tx, 486, "Busy Here"));
  assert.equal(tx.state, TX_STATE.completed);
  const ack = request("ACK", { toTag: "pbx1" });
  assert.deepEqual(servers.receive(ack, replyTo), { kind: "ack-absorbed" });
  assert.equal(tx.state, TX_STATE.confirmed);
  // A retransmitted ACK is absorbed too, and nothing is resent.
  assert.deepEqual(servers.receive(ack, replyTo), { kind: "ack-absorbed" });
  assert.equal(sent.length, 1);
  clock.advance(TIMER.I);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(servers.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.receive() reports an ACK that matches no failure answer as ack-2xx", () => {
  const { clock, servers, replyTo } = setup();
  // No transaction at all.
  assert.deepEqual(
    servers.receive(request("ACK", { branch: "z9hG4bKack9", toTag: "pbx1" }), replyTo),
    { kind: "ack-2xx" },
  );
  // An INVITE answered 2xx (Accepted): its ACK is a transaction of its own, routed end to end.
  const tx = newTx(servers, request("INVITE"), replyTo);
  servers.respond(tx, 200, answer(tx, 200, "OK"));
  assert.equal(tx.state, TX_STATE.accepted);
  assert.deepEqual(
    servers.receive(request("ACK", { branch: "z9hG4bKack1", toTag: "pbx1" }), replyTo),
    { kind: "ack-2xx" },
  );
  assert.deepEqual(servers.receive(request("ACK", { toTag: "pbx1" }), replyTo), {
    kind: "ack-2xx",
  });
  assert.equal(tx.state, TX_STATE.accepted);
  servers.close();
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.receive() finds the INVITE a CANCEL belongs to", () => {
  const { clock, servers, replyTo } = setup();
  const invite = newTx(servers, request("INVITE"), replyTo);
  const match = servers.receive(request("CANCEL"), replyTo);
  assert.equal(match.kind, "cancel");
  if (match.kind !== "cancel") return;
  assert.equal(match.invite, invite);
  assert.notEqual(match.tx, invite);
  assert.equal(match.tx.invite, false);
  assert.equal(match.tx.request.method, "CANCEL");
  // A retransmitted CANCEL is a retransmission of the CANCEL transaction.
  assert.deepEqual(servers.receive(request("CANCEL"), replyTo), { kind: "retransmission" });
  // A CANCEL for nothing we know.
  const stray = servers.receive(request("CANCEL", { branch: "z9hG4bKnone" }), replyTo);
  assert.equal(stray.kind, "cancel");
  if (stray.kind === "cancel") assert.equal(stray.invite, undefined);
  servers.close();
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.respond() retransmits a 486 over UDP with Timer G doubling to T2 until the ACK", () => {
  const { clock, sent, servers, replyTo } = setup();
  const tx = newTx(servers, request("INVITE"), replyTo);
  servers.respond(tx, 486, answer(tx, 486, "Busy Here"));
  assert.equal(sent.length, 1);
  // Retransmissions at 0.5, 1.5, 3.5, 7.5, 11.5 s: intervals 0.5, 1, 2, 4, then capped at T2.
  const at: number[] = [];
  let last = sent.length;
  for (let t = 0; t < 12_000; t += 100) {
    clock.advance(100);
    if (sent.length !== last) at.push(clock.now());
    last = sent.length;
  }
  assert.deepEqual(at, [T1, 3 * T1, 7 * T1, 15 * T1, 15 * T1 + T2]);
  assert.ok(sent.every((s) => s === sent[0]));
  assert.deepEqual(servers.receive(request("ACK", { toTag: "pbx1" }), replyTo), {
    kind: "ack-absorbed",
  });
  const count = sent.length;
  clock.advance(TIMER.H);
  assert.equal(sent.length, count, "no retransmission after the ACK");
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.respond() gives up at Timer H when no ACK comes", () => {
  const { clock, sent, servers, replyTo } = setup();
  const tx = newTx(servers, request("INVITE"), replyTo);
  servers.respond(tx, 486, answer(tx, 486, "Busy Here"));
  clock.advance(TIMER.H - 1);
  assert.equal(tx.state, TX_STATE.completed);
  // 0, 0.5, 1.5, 3.5, 7.5, then every 4 s up to 31.5 s.
  assert.equal(sent.length, 11);
  clock.advance(1);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(servers.size, 0);
  assert.equal(clock.pending, 0);
  // A late ACK matches nothing now.
  assert.deepEqual(servers.receive(request("ACK", { toTag: "pbx1" }), replyTo), {
    kind: "ack-2xx",
  });
});

Deno.test("ServerTransactions.respond() neither retransmits nor lingers over TCP", async (t) => {
  await t.step("Timer G is off, Timer I is zero", () => {
    const { clock, sent, servers, replyTo } = setup("tcp");
    const tx = newTx(servers, request("INVITE"), replyTo);
    servers.respond(tx, 486, answer(tx, 486, "Busy Here"));
    clock.advance(TIMER.H - 1);
    assert.equal(sent.length, 1);
    assert.deepEqual(servers.receive(request("ACK", { toTag: "pbx1" }), replyTo), {
      kind: "ack-absorbed",
    });
    assert.equal(tx.state, TX_STATE.confirmed);
    clock.advance(0);
    assert.equal(tx.state, TX_STATE.terminated);
    assert.equal(clock.pending, 0);
  });
  await t.step("Timer H still ends a transaction whose ACK never comes", () => {
    const { clock, servers, replyTo } = setup("tcp");
    const tx = newTx(servers, request("INVITE"), replyTo);
    servers.respond(tx, 486, answer(tx, 486, "Busy Here"));
    clock.advance(TIMER.H);
    assert.equal(tx.state, TX_STATE.terminated);
    assert.equal(clock.pending, 0);
  });
  await t.step("Timer J is zero for non-INVITE", () => {
    const { clock, servers, replyTo } = setup("tcp");
    const tx = newTx(servers, request("BYE", { toTag: "pbx1" }), replyTo);
    servers.respond(tx, 200, answer(tx, 200, "OK"));
    assert.equal(tx.state, TX_STATE.completed);
    clock.advance(0);
    assert.equal(tx.state, TX_STATE.terminated);
    assert.equal(clock.pending, 0);
  });
});

Deno.test("ServerTransactions.respond() keeps a non-INVITE in Completed for Timer J, answering retransmissions", () => {
  const { clock, sent, servers, replyTo } = setup();
  const bye = request("BYE", { toTag: "pbx1", cseq: 2 });
  const tx = newTx(servers, bye, replyTo);
  servers.respond(tx, 100, answer(tx, 100, "Trying"));
  assert.equal(tx.state, TX_STATE.proceeding);
  servers.respond(tx, 200, answer(tx, 200, "OK"));
  assert.equal(tx.state, TX_STATE.completed);
  // A final answer is never retransmitted on its own for non-INVITE (no Timer G).
  clock.advance(TIMER.J - 1);
  assert.equal(sent.length, 2);
  assert.deepEqual(servers.receive(bye, replyTo), { kind: "retransmission" });
  assert.equal(sent.length, 3);
  assert.match(sent[2]!, /^SIP\/2\.0 200 OK\r\n/);
  clock.advance(1);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(servers.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.respond() moves an INVITE to Accepted on 2xx and passes 2xx retransmissions (RFC 6026)", () => {
  const { clock, sent, servers, replyTo } = setup();
  const tx = newTx(servers, request("INVITE"), replyTo);
  servers.respond(tx, 180, answer(tx, 180, "Ringing"));
  const ok = answer(tx, 200, "OK");
  servers.respond(tx, 200, ok);
  assert.equal(tx.state, TX_STATE.accepted);
  assert.equal(sent.length, 2);
  // The proxy does not retransmit 2xx itself (the UAS does): no Timer G.
  clock.advance(5 * T1);
  assert.equal(sent.length, 2);
  // A 2xx retransmission from downstream is passed on.
  servers.respond(tx, 200, ok);
  assert.equal(sent.length, 3);
  // A retransmitted INVITE is absorbed without a resend.
  assert.deepEqual(servers.receive(request("INVITE"), replyTo), { kind: "retransmission" });
  assert.equal(sent.length, 3);
  // Provisional and failure answers after the 2xx are dropped.
  servers.respond(tx, 183, answer(tx, 183, "Session Progress"));
  servers.respond(tx, 486, answer(tx, 486, "Busy Here"));
  assert.equal(sent.length, 3);
  assert.equal(tx.lastStatus, 200);
  clock.advance(TIMER.L);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(clock.pending, 0);
});

Deno.test("ServerTransactions.respond() drops a provisional or a second final after a final answer", async (t) => {
  await t.step("INVITE", () => {
    const { clock, sent, servers, replyTo } = setup();
    const tx = newTx(servers, request("INVITE"), replyTo);
    servers.respond(tx, 486, answer(tx, 486, "Busy Here"));
    servers.respond(tx, 180, answer(tx, 180, "Ringing"));
    servers.respond(tx, 603, answer(tx, 603, "Decline"));
    servers.respond(tx, 200, answer(tx, 200, "OK"));
    assert.equal(sent.length, 1);
    assert.equal(tx.lastStatus, 486);
    assert.equal(tx.state, TX_STATE.completed);
    servers.close();
    assert.equal(clock.pending, 0);
  });
  await t.step("non-INVITE", () => {
    const { clock, sent, servers, replyTo } = setup();
    const tx = newTx(servers, request("OPTIONS"), replyTo);
    servers.respond(tx, 200, answer(tx, 200, "OK"));
    servers.respond(tx, 100, answer(tx, 100, "Trying"));
    servers.respond(tx, 500, answer(tx, 500, "Server Internal Error"));
    assert.equal(sent.length, 1);
    assert.equal(tx.lastStatus, 200);
    clock.advance(TIMER.J);
    assert.equal(clock.pending, 0);
  });
});

Deno.test("ServerTransactions.close() terminates every transaction and clears its timers", () => {
  const { clock, servers, replyTo } = setup();
  const a = newTx(servers, request("INVITE"), replyTo);
  servers.respond(a, 486, answer(a, 486, "Busy Here"));
  const b = newTx(servers, request("INVITE", { branch: "z9hG4bKphone2" }), replyTo);
  servers.respond(b, 200, answer(b, 200, "OK"));
  assert.ok(clock.pending > 0);
  servers.close();
  assert.equal(servers.size, 0);
  assert.equal(a.state, TX_STATE.terminated);
  assert.equal(b.state, TX_STATE.terminated);
  assert.equal(clock.pending, 0);
});
