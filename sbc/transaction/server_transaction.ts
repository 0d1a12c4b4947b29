/**
 * Server transactions (RFC 3261 §17.2, RFC 6026): absorb request retransmissions by resending the
 * last answer, retransmit a final non-2xx answer until the ACK comes, and forget after timers.
 */
import type { Clock } from "./clock.ts";
import type { SipMessage } from "../message/sip_message.ts";
import { T2, TIMER } from "./timers.ts";
import { isUnreliable, serverKey, TX_STATE, type TxState } from "./transaction.ts";
import { type Send } from "../transport/transport.ts";
import { type SendTarget } from "../transport/transport.ts";

export interface ServerTransaction {
  readonly key: string;
  readonly invite: boolean;
  readonly request: SipMessage;
  /** Where answers go (RFC 3261 §18.2.2). */
  readonly replyTo: SendTarget;
  state: TxState;
  lastStatus: number;
  lastResponse: Uint8Array | undefined;
  /** Our To tag for answers we generate ourselves, so all of them agree. */
  readonly localTag: string;
  /** Set once a CANCEL for this INVITE arrived. */
  cancelled: boolean;
  timers: number[];
}

/** What a received request turned out to be. */
export type ServerMatch =
  | { readonly kind: "new"; readonly tx: ServerTransaction }
  | { readonly kind: "retransmission" }
  | { readonly kind: "ack-absorbed" }
  /** ACK that matched no transaction: an ACK for a 2xx, routed end to end (§17.2.3, §13.2.2.4). */
  | { readonly kind: "ack-2xx" }
  | {
    readonly kind: "cancel";
    readonly tx: ServerTransaction;
    readonly invite: ServerTransaction | undefined;
  };

export class ServerTransactions {
  #table = new Map<string, ServerTransaction>();
  /** Transactions alive per address answers go to (the request's source). */
  #bySource = new Map<string, number>();
  #clock: Clock;
  #send: Send;
  #tagSeq = 0;

  constructor(clock: Clock, send: Send) {
    this.#clock = clock;
    this.#send = send;
  }

  get size(): number {
    return this.#table.size;
  }

  /** Transactions alive whose requests came from `host`. */
  fromSource(host: string): number {
    return this.#bySource.get(host) ?? 0;
  }

  /** Matches a request to its transaction, or creates one (RFC 3261 §17.2.3). */
  receive(msg: SipMessage, replyTo: SendTarget): ServerMatch {
    const key = serverKey(msg);
    const found = this.#table.get(key);
    if (msg.method === "ACK") {
      if (found?.invite && found.state === TX_STATE.completed) {
        this.#confirm(found);
        return { kind: "ack-absorbed" };
      }
      // ACK retransmissions in Confirmed, or ACKs for 2xx (a new transaction end to end).
      return found && found.state === TX_STATE.confirmed
        ? { kind: "ack-absorbed" }
        : { kind: "ack-2xx" };
    }
    if (found) {
      if (found.lastResponse && found.state !== TX_STATE.accepted) {
        void this.#send(found.replyTo, found.lastResponse);
      }
      return { kind: "retransmission" };
    }
    const tx = this.#create(key, msg, replyTo);
    if (msg.method === "CANCEL") {
      return { kind: "cancel", tx, invite: this.#table.get(serverKey(msg, "INVITE")) };
    }
    return { kind: "new", tx };
  }

  #create(key: string, msg: SipMessage, replyTo: SendTarget): ServerTransaction {
    const invite = msg.method === "INVITE";
    const tx: ServerTransaction = {
      key,
      invite,
      request: msg,
      replyTo,
      state: invite ? TX_STATE.proceeding : TX_STATE.trying,
      lastStatus: 0,
      lastResponse: undefined,
      localTag: `es${(++this.#tagSeq).toString(36)}${Math.random().toString(36).slice(2, 8)}`,
      cancelled: false,
      timers: [],
    };
    this.#table.set(key, tx);
    const host = replyTo.dest.host;
    this.#bySource.set(host, (this.#bySource.get(host) ?? 0) + 1);
    return tx;
  }

  /**
   * Sends an answer through the transaction and moves it on (RFC 3261 §17.2.1, §17.2.2).
   * Answers after a final one are dropped, except 2xx retransmissions on an accepted INVITE.
   */
  respond(tx: ServerTransaction, status: number, bytes: Uint8Array): void {
    const s = tx.state;
    if (s === TX_STATE.terminated || s === TX_STATE.completed || s === TX_STATE.confirmed) return;
    if (s === TX_STATE.accepted && (status < 200 || status >= 300)) return;
    if (status < 200 && tx.lastStatus >= 200) return;
    tx.lastStatus = status;
    tx.lastResponse = bytes;
    void this.#send(tx.replyTo, bytes);
    if (status < 200) {
      if (!tx.invite) tx.state = TX_STATE.proceeding;
      return;
    }
    const unreliable = isUnreliable(tx.replyTo.proto);
    if (tx.invite && status < 300) {
      if (s !== TX_STATE.accepted) {
        tx.state = TX_STATE.accepted;
        this.#arm(tx, () => this.terminate(tx), TIMER.L);
      }
      return;
    }
    tx.state = TX_STATE.completed;
    if (tx.invite) {
      if (unreliable) this.#retransmit(tx, TIMER.G);
      this.#arm(tx, () => this.terminate(tx), TIMER.H);
    } else {
      this.#arm(tx, () => this.terminate(tx), unreliable ? TIMER.J : 0);
    }
  }

  /** Timer G: resend the final answer, doubling up to T2, until the ACK or Timer H. */
  #retransmit(tx: ServerTransaction, interval: number): void {
    this.#arm(tx, () => {
      if (tx.state !== TX_STATE.completed || !tx.lastResponse) return;
      void this.#send(tx.replyTo, tx.lastResponse);
      this.#retransmit(tx, Math.min(interval * 2, T2));
    }, interval);
  }

  #confirm(tx: ServerTransaction): void {
    this.#clear(tx);
    tx.state = TX_STATE.confirmed;
    this.#arm(tx, () => this.terminate(tx), isUnreliable(tx.replyTo.proto) ? TIMER.I : 0);
  }

  #arm(tx: ServerTransaction, fn: () => void, ms: number): void {
    tx.timers.push(this.#clock.setTimer(fn, ms));
  }

  #clear(tx: ServerTransaction): void {
    for (const t of tx.timers) this.#clock.clearTimer(t);
    tx.timers = [];
  }

  /** Forgets a transaction and its timers. */
  terminate(tx: ServerTransaction): void {
    this.#clear(tx);
    tx.state = TX_STATE.terminated;
    if (this.#table.get(tx.key) !== tx) return;
    this.#table.delete(tx.key);
    const host = tx.replyTo.dest.host;
    const left = (this.#bySource.get(host) ?? 1) - 1;
    if (left > 0) this.#bySource.set(host, left);
    else this.#bySource.delete(host);
  }

  /** Stops every timer (shutdown). */
  close(): void {
    for (const tx of [...this.#table.values()]) this.terminate(tx);
  }
}
