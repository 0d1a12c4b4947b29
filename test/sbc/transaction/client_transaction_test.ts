import assert from "node:assert/strict";
import type { SipProto } from "../../../config/config.ts";
import { getHeaderValues } from "../../../sbc/message/message.ts";
import { type SipMessage } from "../../../sbc/message/sip_message.ts";
import { toBytes } from "../../../sbc/message/serialize.ts";
import { buildResponse } from "../../../sbc/message/response.ts";
import { T1, T2, TIMER } from "../../../sbc/transaction/timers.ts";
import { TX_STATE } from "../../../sbc/transaction/transaction.ts";
import { type SendTarget } from "../../../sbc/transport/transport.ts";
import {
  type ClientTransaction,
  ClientTransactions,
  TIMEOUT,
  type TimeoutReason,
} from "../../../sbc/transaction/client_transaction.ts";
import { ManualClock } from "../../kit/manual_clock.ts";
import { recordingSend } from "../../kit/recording_send.ts";
import { PBX } from "../../kit/phone_and_pbx.ts";
import { parse, sip } from "../../kit/sip_text.ts";

const BRANCH = "z9hG4bKesTest1";

/** A request as the proxy forwards it to the PBX: our Via on top, a Route set. */
function requestText(method: string): string {
  return sip([
    `${method} sip:100@127.0.2.10:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.2.1:5060;branch=${BRANCH}`,
    "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKphone1;received=192.0.2.50;rport=5062",
    "Route: <sip:127.0.2.20;lr>",
    "Route: <sip:127.0.2.21;lr>",
    "Max-Forwards: 69",
    'From: "Alice" <sip:alice@192.0.2.50>;tag=a1',
    "To: <sip:100@127.0.1.1>",
    "Call-ID: call1@192.0.2.50",
    `CSeq: 7 ${method}`,
    "Contact: <sip:alice@192.0.2.50:5062>",
  ]);
}

/** Answers come from where the requests go: the PBX, on the internal side. */
const FROM_PBX = { side: "internal", host: PBX.host } as const;

function setup(proto: SipProto = "udp", sendResult = true) {
  const clock = new ManualClock();
  const { sent, send } = recordingSend(sendResult);
  const clients = new ClientTransactions(clock, send);
  const target: SendTarget = {
    side: "internal",
    proto,
    dest: PBX,
    connection: undefined,
  };
  const responses: number[] = [];
  const timeouts: TimeoutReason[] = [];
  const start = (method = "INVITE"): ClientTransaction =>
    clients.start({
      branch: BRANCH,
      method,
      bytes: toBytes(requestText(method)),
      target,
      delegate: {
        onResponse: (_tx, msg) => responses.push(msg.status),
        onTimeout: (_tx, reason) => timeouts.push(reason),
      },
    });
  return { clock, sent, clients, start, responses, timeouts };
}

/** An answer from the PBX to the request (To tag added for non-100). */
function answer(method: string, status: number, reason: string): SipMessage {
  const req = parse(requestText(method));
  return parse(buildResponse(req, status, reason, status > 100 ? { toTag: "pbx1" } : {}));
}

/** Times (ms) at which the number of sent messages grew, stepping by `step` up to `until`. */
function sendTimes(clock: ManualClock, sent: string[], until: number, step = 100): number[] {
  const at: number[] = [];
  let last = sent.length;
  while (clock.now() < until) {
    clock.advance(step);
    if (sent.length !== last) at.push(clock.now());
    last = sent.length;
  }
  return at;
}

Deno.test("ClientTransactions.start() retransmits an INVITE with Timer A and times out at Timer B", () => {
  const { clock, sent, clients, start, timeouts } = setup();
  const tx = start();
  assert.equal(sent.length, 1);
  assert.equal(tx.state, TX_STATE.calling);
  // Intervals 0.5, 1, 2, 4, 8, 16 s: sends at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
  const at = sendTimes(clock, sent, TIMER.B - 100);
  assert.deepEqual(at, [1, 3, 7, 15, 31, 63].map((n) => n * T1));
  assert.equal(sent.length, 7);
  assert.ok(sent.every((s) => s === sent[0]));
  assert.deepEqual(timeouts, []);
  clock.advance(100);
  assert.deepEqual(timeouts, [TIMEOUT.noAnswer]);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(sent.length, 7);
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.start() does not retransmit over TCP but still times out", () => {
  const { clock, sent, clients, start, timeouts } = setup("tcp");
  start();
  clock.advance(TIMER.B - 1);
  assert.equal(sent.length, 1);
  assert.deepEqual(timeouts, []);
  clock.advance(1);
  assert.deepEqual(timeouts, [TIMEOUT.noAnswer]);
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.start() times out at once when the send fails", async () => {
  const { clock, start, timeouts } = setup("tcp", false);
  const tx = start();
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(timeouts, [TIMEOUT.noAnswer]);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.receive() stops retransmitting on 100, keeps it hop by hop, and passes 180 up", () => {
  const { clock, sent, clients, start, responses, timeouts } = setup();
  const tx = start();
  clock.advance(T1);
  assert.equal(sent.length, 2);
  assert.equal(clients.receive(answer("INVITE", 100, "Trying"), BRANCH, FROM_PBX), true);
  assert.equal(tx.state, TX_STATE.proceeding);
  assert.deepEqual(responses, []);
  clock.advance(TIMER.B);
  assert.equal(sent.length, 2, "no retransmission in Proceeding");
  assert.deepEqual(timeouts, [], "Timer B does not fire once an answer came");
  clients.receive(answer("INVITE", 180, "Ringing"), BRANCH, FROM_PBX);
  assert.deepEqual(responses, [180]);
  clients.close();
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.receive() returns false for a response no transaction matches", () => {
  const { clock, clients, start } = setup();
  start();
  assert.equal(clients.receive(answer("INVITE", 180, "Ringing"), "z9hG4bKother", FROM_PBX), false);
  // Same branch, other method (CSeq method decides).
  assert.equal(clients.receive(answer("OPTIONS", 200, "OK"), BRANCH, FROM_PBX), false);
  clients.close();
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.receive() ACKs a 486 hop by hop and re-ACKs its retransmission", () => {
  const { clock, sent, clients, start, responses } = setup();
  const tx = start();
  const busy = answer("INVITE", 486, "Busy Here");
  clients.receive(busy, BRANCH, FROM_PBX);
  assert.equal(tx.state, TX_STATE.completed);
  assert.deepEqual(responses, [486]);
  assert.equal(sent.length, 2);
  const ack = parse(sent[1]!);
  const invite = parse(sent[0]!);
  assert.equal(ack.method, "ACK");
  assert.equal(ack.uri, invite.uri);
  assert.equal(ack.vias.length, 1, "only our Via (RFC 3261 §17.1.1.3)");
  assert.equal(ack.vias[0]!.branch, BRANCH);
  assert.equal(ack.vias[0]!.host, "127.0.2.1");
  assert.equal(ack.toTag, "pbx1");
  assert.equal(ack.fromTag, "a1");
  assert.equal(ack.callId, invite.callId);
  assert.deepEqual(ack.cseq, { seq: 7, method: "ACK" });
  assert.deepEqual(getHeaderValues(ack, "route"), ["<sip:127.0.2.20;lr>", "<sip:127.0.2.21;lr>"]);
  assert.equal(ack.maxForwards, 69);
  // No retransmission of the INVITE after the final answer.
  clock.advance(10 * T1);
  assert.equal(sent.length, 2);
  // A retransmitted 486 is ACKed again and not passed up.
  clients.receive(busy, BRANCH, FROM_PBX);
  assert.equal(sent.length, 3);
  assert.equal(sent[2], sent[1]);
  assert.deepEqual(responses, [486]);
  clock.advance(TIMER.D);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.receive() moves an INVITE to Accepted on 2xx and passes 2xx retransmissions up (RFC 6026)", () => {
  const { clock, sent, clients, start, responses, timeouts } = setup();
  const tx = start();
  clients.receive(answer("INVITE", 180, "Ringing"), BRANCH, FROM_PBX);
  const ok = answer("INVITE", 200, "OK");
  clients.receive(ok, BRANCH, FROM_PBX);
  assert.equal(tx.state, TX_STATE.accepted);
  clients.receive(ok, BRANCH, FROM_PBX);
  assert.deepEqual(responses, [180, 200, 200]);
  assert.equal(sent.length, 1, "a 2xx is ACKed end to end, not by the transaction");
  // A late provisional or failure answer is not passed up.
  clients.receive(answer("INVITE", 183, "Session Progress"), BRANCH, FROM_PBX);
  clients.receive(answer("INVITE", 500, "Server Internal Error"), BRANCH, FROM_PBX);
  assert.deepEqual(responses, [180, 200, 200]);
  clock.advance(TIMER.M);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.deepEqual(timeouts, []);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.start() retransmits a non-INVITE with Timer E capped at T2", () => {
  const { clock, sent, clients, start, timeouts } = setup();
  const tx = start("OPTIONS");
  assert.equal(tx.state, TX_STATE.trying);
  const at = sendTimes(clock, sent, TIMER.F - 100);
  // 0.5, 1.5, 3.5, 7.5, then every T2.
  assert.deepEqual(at.slice(0, 6), [T1, 3 * T1, 7 * T1, 15 * T1, 15 * T1 + T2, 15 * T1 + 2 * T2]);
  for (let i = 4; i < at.length; i++) assert.equal(at[i]! - at[i - 1]!, T2);
  clock.advance(100);
  assert.deepEqual(timeouts, [TIMEOUT.noAnswer]);
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.receive() retransmits a non-INVITE every T2 once proceeding and times out at Timer F", () => {
  const { clock, sent, clients, start, responses, timeouts } = setup();
  const tx = start("OPTIONS");
  clients.receive(answer("OPTIONS", 100, "Trying"), BRANCH, FROM_PBX);
  assert.equal(tx.state, TX_STATE.proceeding);
  assert.deepEqual(responses, []);
  const at = sendTimes(clock, sent, TIMER.F - 100);
  assert.ok(at.length > 0);
  for (let i = 1; i < at.length; i++) assert.equal(at[i]! - at[i - 1]!, T2);
  clock.advance(100);
  assert.deepEqual(timeouts, [TIMEOUT.noFinal], "Timer F fires in Proceeding too (§17.1.2.2)");
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.receive() keeps a non-INVITE in Completed for Timer K", async (t) => {
  await t.step("UDP", () => {
    const { clock, clients, start, responses } = setup();
    const tx = start("OPTIONS");
    clients.receive(answer("OPTIONS", 200, "OK"), BRANCH, FROM_PBX);
    assert.equal(tx.state, TX_STATE.completed);
    // A retransmitted answer is absorbed.
    clients.receive(answer("OPTIONS", 200, "OK"), BRANCH, FROM_PBX);
    assert.deepEqual(responses, [200]);
    clock.advance(TIMER.K);
    assert.equal(tx.state, TX_STATE.terminated);
    assert.equal(clock.pending, 0);
  });
  await t.step("TCP: Timer K is zero", () => {
    const { clock, clients, start } = setup("tcp");
    const tx = start("OPTIONS");
    clients.receive(answer("OPTIONS", 200, "OK"), BRANCH, FROM_PBX);
    clock.advance(0);
    assert.equal(tx.state, TX_STATE.terminated);
    assert.equal(clock.pending, 0);
  });
});

Deno.test("ClientTransactions.cancel() before any provisional waits and sends CANCEL once 180 arrives", () => {
  const { clock, sent, clients, start, responses, timeouts } = setup();
  const tx = start();
  clients.cancel(tx);
  assert.equal(sent.length, 1, "no CANCEL before a provisional answer (RFC 3261 §9.1)");
  assert.equal(tx.cancelPending, true);
  clients.receive(answer("INVITE", 180, "Ringing"), BRANCH, FROM_PBX);
  assert.deepEqual(responses, [180]);
  assert.equal(sent.length, 2);
  const cancel = parse(sent[1]!);
  const invite = parse(sent[0]!);
  assert.equal(cancel.method, "CANCEL");
  assert.equal(cancel.uri, invite.uri);
  assert.equal(cancel.vias.length, 1);
  assert.equal(cancel.vias[0]!.branch, BRANCH);
  assert.equal(cancel.callId, invite.callId);
  assert.equal(cancel.fromTag, "a1");
  assert.equal(cancel.toTag, undefined, "To as in the request");
  assert.deepEqual(cancel.cseq, { seq: 7, method: "CANCEL" });
  assert.deepEqual(getHeaderValues(cancel, "route"), getHeaderValues(invite, "route"));
  assert.equal(clients.size, 2, "the CANCEL is a transaction of its own");
  // The CANCEL is retransmitted like any non-INVITE until its 200.
  clock.advance(T1);
  assert.equal(sent.length, 3);
  assert.equal(sent[2], sent[1]);
  assert.equal(clients.receive(answer("CANCEL", 200, "OK"), BRANCH, FROM_PBX), true);
  clients.receive(answer("INVITE", 487, "Request Terminated"), BRANCH, FROM_PBX);
  assert.deepEqual(responses, [180, 487]);
  assert.equal(parse(sent[3]!).method, "ACK");
  clock.advance(TIMER.D);
  assert.deepEqual(timeouts, []);
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.cancel() on a proceeding INVITE sends CANCEL at once", () => {
  const { clock, sent, clients, start } = setup();
  const tx = start();
  clients.receive(answer("INVITE", 183, "Session Progress"), BRANCH, FROM_PBX);
  clients.cancel(tx);
  assert.equal(sent.length, 2);
  assert.equal(parse(sent[1]!).method, "CANCEL");
  clients.close();
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.cancel() does nothing once a final answer came", () => {
  const { clock, sent, clients, start } = setup();
  const tx = start();
  clients.receive(answer("INVITE", 200, "OK"), BRANCH, FROM_PBX);
  clients.cancel(tx);
  assert.equal(sent.length, 1);
  assert.equal(tx.cancelPending, false);
  clock.advance(TIMER.M);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.cancel() times the INVITE out as cancelled when no final answer follows", () => {
  const { clock, clients, start, timeouts } = setup();
  const tx = start();
  clients.receive(answer("INVITE", 180, "Ringing"), BRANCH, FROM_PBX);
  clients.cancel(tx);
  clock.advance(TIMER.B - 1);
  assert.deepEqual(timeouts, []);
  clock.advance(1);
  assert.deepEqual(timeouts, [TIMEOUT.cancelled]);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions Timer C times out an INVITE that rings without a final answer and CANCELs it", () => {
  const { clock, sent, clients, start, responses, timeouts } = setup();
  const tx = start();
  clients.receive(answer("INVITE", 180, "Ringing"), BRANCH, FROM_PBX);
  clock.advance(TIMER.C - 1000);
  // Another provisional restarts Timer C (RFC 3261 §16.7 step 2).
  clients.receive(answer("INVITE", 180, "Ringing"), BRANCH, FROM_PBX);
  clock.advance(TIMER.C - 1);
  assert.deepEqual(timeouts, []);
  assert.equal(sent.length, 1);
  clock.advance(1);
  assert.deepEqual(timeouts, [TIMEOUT.noFinal]);
  // RFC 3261 §16.8: the branch had a provisional answer, so it is CANCELled.
  assert.equal(sent.length, 2);
  const cancel = parse(sent[1]!);
  assert.equal(cancel.method, "CANCEL");
  assert.equal(cancel.vias[0]!.branch, BRANCH);
  // The 487 that follows is ACKed but not passed up: the caller already had its timeout.
  clients.receive(answer("INVITE", 487, "Request Terminated"), BRANCH, FROM_PBX);
  assert.equal(parse(sent[sent.length - 1]!).method, "ACK");
  assert.deepEqual(responses, [180, 180]);
  clients.receive(answer("CANCEL", 200, "OK"), BRANCH, FROM_PBX);
  clock.advance(TIMER.B);
  assert.equal(tx.state, TX_STATE.terminated);
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions.close() terminates every transaction and clears its timers", () => {
  const { clock, clients, start } = setup();
  start();
  start("OPTIONS");
  assert.ok(clock.pending > 0);
  clients.close();
  assert.equal(clients.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("ClientTransactions takes an answer only from the side its request went to", () => {
  const { clients, start, responses } = setup();
  start("INVITE");
  // The right branch from outside: absorbed, nothing passed on.
  assert.equal(
    clients.receive(answer("INVITE", 200, "OK"), BRANCH, { ...FROM_PBX, side: "external" }),
    true,
  );
  assert.deepEqual(responses, []);
  clients.receive(answer("INVITE", 180, "Ringing"), BRANCH, FROM_PBX);
  assert.deepEqual(responses, [180]);
  clients.close();
});
