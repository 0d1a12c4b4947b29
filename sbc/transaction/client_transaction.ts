/**
 * Client transactions (RFC 3261 §17.1, RFC 6026): retransmit requests over UDP, time out, ACK
 * failure answers hop by hop, and CANCEL an INVITE once it is proceeding (§9.1).
 */
import type { Side } from "../../config/config.ts";
import type { Clock } from "./clock.ts";
import { getHeaderValues, parseMessage } from "../message/message.ts";
import { type SipMessage } from "../message/sip_message.ts";
import { toBytes } from "../message/serialize.ts";
import { T2, TIMER } from "./timers.ts";
import { clientKey, isUnreliable, TX_STATE, type TxState } from "./transaction.ts";
import { type Send } from "../transport/transport.ts";
import { type SendTarget } from "../transport/transport.ts";

/** Why a client transaction gave up. */
export const TIMEOUT = {
  /** Timer B/F: no answer at all. */
  noAnswer: "no-answer",
  /** Timer C: provisional answers but no final one. */
  noFinal: "no-final",
  /** CANCEL sent but the INVITE never got its 487. */
  cancelled: "cancelled",
} as const;
export type TimeoutReason = typeof TIMEOUT[keyof typeof TIMEOUT];

/** Callbacks into the proxy core (typed delegates, not events). */
export interface ClientDelegate {
  /** A response to pass upstream: provisional, final, or a 2xx retransmission. */
  onResponse(tx: ClientTransaction, msg: SipMessage): void;
  onTimeout(tx: ClientTransaction, reason: TimeoutReason): void;
}

/** The parts of the sent request needed to build an ACK or CANCEL for it (§17.1.1.3, §9.1). */
export interface SentRequest {
  readonly method: string;
  readonly uri: string;
  /** Our Via value, with the branch. */
  readonly via: string;
  readonly from: string;
  readonly to: string;
  readonly callId: string;
  readonly cseq: number;
  /** Route header values of the sent request, in order. */
  readonly routes: readonly string[];
  readonly maxForwards: number;
}

export interface ClientTransaction {
  readonly key: string;
  readonly branch: string;
  readonly invite: boolean;
  readonly method: string;
  /** The request as sent; parsed again only to build an ACK or CANCEL (rare, off the hot path). */
  readonly bytes: Uint8Array;
  readonly target: SendTarget;
  state: TxState;
  lastStatus: number;
  /** A CANCEL waits here until the INVITE is proceeding (§9.1). */
  cancelPending: boolean;
  timers: number[];
  /** Timer C, kept apart so provisionals can restart it. */
  timerC: number | undefined;
  /** Ms without any answer before the branch is given up (Timer B/F, or less: fr_timer). */
  readonly replyMs: number;
  /** Ms without a final answer after a provisional (Timer C, or fr_inv_timer). */
  readonly ringMs: number;
  readonly delegate: ClientDelegate;
}

/** How long a branch waits (Kamailio's fr_timer and fr_inv_timer), in ms. */
export interface BranchTimeouts {
  readonly replyMs: number;
  readonly ringMs: number;
}

export class ClientTransactions {
  #table = new Map<string, ClientTransaction>();
  #clock: Clock;
  #send: Send;
  /** For new transactions (a config reload changes them; a transaction keeps what it began with). */
  timeouts: BranchTimeouts = { replyMs: TIMER.B, ringMs: TIMER.C };

  constructor(clock: Clock, send: Send) {
    this.#clock = clock;
    this.#send = send;
  }

  get size(): number {
    return this.#table.size;
  }

  /** Sends a request and starts its timers (A/B for INVITE, E/F otherwise). */
  start(
    init: {
      branch: string;
      method: string;
      bytes: Uint8Array;
      target: SendTarget;
      delegate: ClientDelegate;
      /** This branch's own timeouts (t_set_fr), else the defaults. */
      timeouts?: Partial<BranchTimeouts>;
    },
  ): ClientTransaction {
    const invite = init.method === "INVITE";
    const { timeouts, ...rest } = init;
    const tx: ClientTransaction = {
      ...rest,
      // RFC 3261's 64*T1 is the most a branch waits for its first answer.
      replyMs: Math.min(timeouts?.replyMs ?? this.timeouts.replyMs, TIMER.B),
      ringMs: timeouts?.ringMs ?? this.timeouts.ringMs,
      key: clientKey(init.branch, init.method),
      invite,
      state: invite ? TX_STATE.calling : TX_STATE.trying,
      lastStatus: 0,
      cancelPending: false,
      timers: [],
      timerC: undefined,
    };
    this.#table.set(tx.key, tx);
    void this.#send(tx.target, tx.bytes).then((ok) => {
      // A failed send is a transport error (§8.1.3.1): answer as if timed out, at once.
      if (!ok && tx.state !== TX_STATE.terminated && tx.lastStatus === 0) {
        this.#timeout(tx, TIMEOUT.noAnswer);
      }
    });
    if (isUnreliable(tx.target.proto)) this.#retransmit(tx, invite ? TIMER.A : TIMER.E);
    // Timer B stops at the first provisional (Timer C takes over); Timer F also runs in
    // Proceeding (RFC 3261 §17.1.2.2), else a non-INVITE answered 1xx retransmits forever.
    this.#arm(tx, () => {
      if (tx.lastStatus === 0) this.#timeout(tx, TIMEOUT.noAnswer);
      else if (!invite) this.#timeout(tx, TIMEOUT.noFinal);
    }, tx.replyMs);
    if (invite) this.#restartTimerC(tx);
    return tx;
  }

  /** Timers A and E: resend with doubling intervals until an answer (E caps at T2). */
  #retransmit(tx: ClientTransaction, interval: number): void {
    this.#arm(tx, () => {
      const s = tx.state;
      if (
        s === TX_STATE.calling || s === TX_STATE.trying || (!tx.invite && s === TX_STATE.proceeding)
      ) {
        void this.#send(tx.target, tx.bytes);
        const next = tx.invite ? interval * 2 : Math.min(interval * 2, T2);
        this.#retransmit(tx, s === TX_STATE.proceeding ? T2 : next);
      }
    }, interval);
  }

  #restartTimerC(tx: ClientTransaction): void {
    if (tx.timerC !== undefined) this.#clock.clearTimer(tx.timerC);
    tx.timerC = this.#clock.setTimer(() => {
      tx.timerC = undefined;
      if (tx.lastStatus >= 200 || tx.state === TX_STATE.terminated) return;
      if (tx.lastStatus === 0) return this.#timeout(tx, TIMEOUT.noFinal);
      // RFC 3261 §16.8: a branch that rang MUST be CANCELled. The caller hears of the timeout
      // now; the 487 that follows is ACKed here and not passed up, as in Completed.
      this.#sendCancel(tx);
      this.#clear(tx);
      tx.state = TX_STATE.completed;
      tx.lastStatus = 408;
      this.#arm(tx, () => this.terminate(tx), TIMER.B);
      tx.delegate.onTimeout(tx, TIMEOUT.noFinal);
    }, tx.ringMs);
  }

  #timeout(tx: ClientTransaction, reason: TimeoutReason): void {
    if (tx.state === TX_STATE.terminated) return;
    this.terminate(tx);
    tx.delegate.onTimeout(tx, reason);
  }

  /**
   * Hands a response to its transaction; returns false when none matches (the caller may still
   * forward a stray 2xx for INVITE statelessly, RFC 3261 §16.7 step 5 / RFC 6026).
   */
  receive(msg: SipMessage, branch: string, source: AnswerSource): boolean {
    const tx = this.#table.get(clientKey(branch, msg.method));
    if (!tx) return false;
    // Only the side the request went to may answer it; the branch, random, is hard to guess.
    if (!answersFrom(tx.target, source)) return true;
    const status = msg.status;
    const s = tx.state;
    if (s === TX_STATE.completed) {
      // A retransmitted failure answer: ACK it again, forward nothing (§17.1.1.2).
      if (tx.invite && status >= 300) void this.#send(tx.target, this.#ack(tx, msg));
      return true;
    }
    if (s === TX_STATE.accepted) {
      if (status >= 200 && status < 300) tx.delegate.onResponse(tx, msg);
      return true;
    }
    if (s === TX_STATE.terminated) return true;
    if (status < 200) {
      tx.state = TX_STATE.proceeding;
      tx.lastStatus = Math.max(tx.lastStatus, status);
      if (tx.invite) {
        this.#restartTimerC(tx);
        if (tx.cancelPending) this.#sendCancel(tx);
      }
      // 100 Trying is hop by hop (§16.7 step 5): only it stops here.
      if (status > 100) tx.delegate.onResponse(tx, msg);
      return true;
    }
    tx.lastStatus = status;
    this.#clear(tx);
    if (tx.invite && status < 300) {
      tx.state = TX_STATE.accepted;
      this.#arm(tx, () => this.terminate(tx), TIMER.M);
    } else {
      tx.state = TX_STATE.completed;
      if (tx.invite) void this.#send(tx.target, this.#ack(tx, msg));
      const unreliable = isUnreliable(tx.target.proto);
      this.#arm(tx, () => this.terminate(tx), unreliable ? (tx.invite ? TIMER.D : TIMER.K) : 0);
    }
    tx.delegate.onResponse(tx, msg);
    return true;
  }

  /**
   * CANCELs a pending INVITE (§9.1, §16.10): at once if it is proceeding, else when the first
   * provisional arrives. If no final answer follows within 64*T1, the INVITE times out.
   */
  cancel(tx: ClientTransaction): void {
    if (!tx.invite || tx.lastStatus >= 200 || tx.state === TX_STATE.terminated) return;
    if (tx.state === TX_STATE.proceeding) this.#sendCancel(tx);
    else tx.cancelPending = true;
    this.#arm(tx, () => {
      if (tx.lastStatus < 200) this.#timeout(tx, TIMEOUT.cancelled);
    }, TIMER.B);
  }

  #sendCancel(tx: ClientTransaction): void {
    tx.cancelPending = false;
    const sent = sentRequest(tx.bytes);
    if (!sent) return;
    this.start({
      branch: tx.branch,
      method: "CANCEL",
      bytes: toBytes(buildHopRequest(sent, "CANCEL", sent.to)),
      target: tx.target,
      delegate: { onResponse: () => {}, onTimeout: () => {} },
    });
  }

  /** The ACK for a failure answer: same branch, To with the answer's tag (§17.1.1.3). */
  #ack(tx: ClientTransaction, msg: SipMessage): Uint8Array {
    const sent = sentRequest(tx.bytes);
    if (!sent) return new Uint8Array();
    const to = msg.headers.find((h) => h.name === "to")?.value ?? sent.to;
    return toBytes(buildHopRequest(sent, "ACK", to));
  }

  #arm(tx: ClientTransaction, fn: () => void, ms: number): void {
    tx.timers.push(this.#clock.setTimer(fn, ms));
  }

  #clear(tx: ClientTransaction): void {
    for (const t of tx.timers) this.#clock.clearTimer(t);
    tx.timers = [];
    if (tx.timerC !== undefined) this.#clock.clearTimer(tx.timerC);
    tx.timerC = undefined;
  }

  /** Forgets a transaction and its timers. */
  terminate(tx: ClientTransaction): void {
    this.#clear(tx);
    tx.state = TX_STATE.terminated;
    if (this.#table.get(tx.key) === tx) this.#table.delete(tx.key);
  }

  close(): void {
    for (const tx of [...this.#table.values()]) this.terminate(tx);
  }
}

/** The parts of a request we sent, read back from its bytes. */
export function sentRequest(bytes: Uint8Array): SentRequest | undefined {
  const parsed = parseMessage(bytes);
  if (!parsed.ok) return undefined;
  const m = parsed.value;
  const header = (name: string) => m.headers.find((h) => h.name === name)?.value ?? "";
  return {
    method: m.method,
    uri: m.uri,
    via: getHeaderValues(m, "via")[0] ?? "",
    from: header("from"),
    to: header("to"),
    callId: m.callId,
    cseq: m.cseq.seq,
    routes: getHeaderValues(m, "route"),
    maxForwards: m.maxForwards ?? 70,
  };
}

/** A hop-by-hop ACK or CANCEL built from the request it belongs to (§9.1, §17.1.1.3). */
export function buildHopRequest(sent: SentRequest, method: "ACK" | "CANCEL", to: string): string {
  let text = `${method} ${sent.uri} SIP/2.0\r\nVia: ${sent.via}\r\n`;
  for (const r of sent.routes) text += `Route: ${r}\r\n`;
  text += `Max-Forwards: ${sent.maxForwards}\r\nFrom: ${sent.from}\r\nTo: ${to}\r\n` +
    `Call-ID: ${sent.callId}\r\nCSeq: ${sent.cseq} ${method}\r\nContent-Length: 0\r\n\r\n`;
  return text;
}

/** Where an answer came from: the interface and the sender's address. */
export interface AnswerSource {
  readonly side: Side;
  readonly host: string;
}

/**
 * An answer from `source` may be for a request sent to `target`: it came in on the interface the
 * request left by. Not the same host: a peer may answer from another address (a NATed phone
 * whose Contact is private, a multi-homed carrier), and a random branch already names one request.
 */
export function answersFrom(target: SendTarget, source: AnswerSource): boolean {
  return target.side === source.side;
}
