/**
 * The dialogs the SBC set up, found by the Call-ID and tags of a request from either side. A
 * dialog ends with a BYE (kept 64*T1 more for retransmissions), a failed final answer, or after
 * `idleMs` without a request in it; idle ones are forgotten lazily, so a dialog costs no timer.
 *
 * @module
 */
import type { Side } from "../../config/config.ts";
import type { SipMessage } from "../message/sip_message.ts";
import type { Clock } from "../transaction/clock.ts";
import { TIMER } from "../transaction/timers.ts";
import type { Dialog } from "./dialog.ts";

export interface DialogTableOptions {
  readonly clock: Clock;
  /** Forget a dialog after this long without a request in it; default 12 h (Kamailio's dialog). */
  readonly idleMs?: number;
  /** Dialogs kept at most; past it a new one is not recorded (its requests from outside get 404). */
  readonly max?: number;
}

/** Dialogs one Call-ID may hold: forks of one request, each answering with its own To tag. */
export const DIALOGS_PER_CALL = 16;

/** How many of the oldest dialogs each add or lookup checks for expiry. */
const SWEEP = 4;

export class DialogTable {
  readonly #clock: Clock;
  readonly #idleMs: number;
  readonly #max: number;
  readonly #byOutside = new Map<string, Dialog[]>();
  readonly #byInside = new Map<string, Dialog[]>();
  /** When each live dialog expires; insertion order is refresh order, so oldest first. */
  readonly #expiry = new Map<Dialog, number>();
  /** Ended dialogs kept for retransmissions, with their removal timer. */
  readonly #ending = new Map<Dialog, number>();

  constructor(options: DialogTableOptions) {
    this.#clock = options.clock;
    this.#idleMs = options.idleMs ?? 12 * 3600_000;
    this.#max = options.max ?? 200_000;
  }

  /** Dialogs alive or ending. */
  get size(): number {
    return this.#expiry.size + this.#ending.size;
  }

  /**
   * Records a dialog, or updates the one with its Call-ID and tags (a 2xx after a 1xx); undefined
   * when the table or the Call-ID is full (an answer with a To tag per packet must not fill it).
   */
  add(dialog: Dialog): Dialog | undefined {
    this.#sweep();
    const call = this.#byInside.get(dialog.insideCallId) ?? [];
    const known = call.find((d) =>
      d.insideTag === dialog.insideTag && d.outsideTag === dialog.outsideTag
    );
    if (known) {
      known.insideTarget = dialog.insideTarget;
      if (dialog.confirmed) this.#confirm(known);
      if (this.#expiry.has(known)) this.#refresh(known);
      return known;
    }
    if (call.length >= DIALOGS_PER_CALL || this.size >= this.#max) return undefined;
    push(this.#byOutside, dialog.outsideCallId, dialog);
    push(this.#byInside, dialog.insideCallId, dialog);
    this.#refresh(dialog);
    if (dialog.confirmed) this.#confirm(dialog);
    return dialog;
  }

  /** The dialog of an in-dialog request received on `side`, refreshed; undefined if none. */
  match(msg: SipMessage, side: Side): Dialog | undefined {
    this.#sweep();
    // From outside, the Call-ID is the one shown there, or already mapped to the PBX's.
    const list = side === "external"
      ? this.#byOutside.get(msg.callId) ?? this.#byInside.get(msg.callId)
      : this.#byInside.get(msg.callId);
    const [mine, theirs] = side === "external"
      ? ["outsideTag", "insideTag"] as const
      : ["insideTag", "outsideTag"] as const;
    const dialog = list?.find((d) => d[mine] === msg.fromTag && d[theirs] === msg.toTag);
    if (!dialog) return undefined;
    const expires = this.#expiry.get(dialog);
    if (expires !== undefined && expires <= this.#clock.now()) return void this.#remove(dialog);
    if (expires !== undefined) this.#refresh(dialog);
    return dialog;
  }

  /** A BYE: the dialog stays 64*T1 for retransmissions and the answer, then goes. */
  end(dialog: Dialog): void {
    if (this.#ending.has(dialog) || !this.#expiry.delete(dialog)) return;
    this.#ending.set(dialog, this.#clock.setTimer(() => this.#remove(dialog), TIMER.B));
  }

  /** An initial request from `from` failed: its early dialogs go. */
  failed(request: SipMessage, from: Side): void {
    const callerTag = from === "internal" ? "insideTag" : "outsideTag";
    for (const d of [...this.#byInside.get(request.callId) ?? []]) {
      if (!d.confirmed && d[callerTag] === request.fromTag) this.#remove(d);
    }
  }

  /** Forgets everything and stops the timers. */
  close(): void {
    for (const timer of this.#ending.values()) this.#clock.clearTimer(timer);
    this.#ending.clear();
    this.#expiry.clear();
    this.#byInside.clear();
    this.#byOutside.clear();
  }

  /** Confirmed: the early dialogs of other forks of the same request go. */
  #confirm(dialog: Dialog): void {
    dialog.confirmed = true;
    for (const d of [...this.#byInside.get(dialog.insideCallId) ?? []]) {
      const sibling = d !== dialog && !d.confirmed && d.insideTag === dialog.insideTag;
      if (sibling) this.#remove(d);
    }
  }

  #refresh(dialog: Dialog): void {
    this.#expiry.delete(dialog);
    this.#expiry.set(dialog, this.#clock.now() + this.#idleMs);
  }

  #sweep(): void {
    const now = this.#clock.now();
    let checked = 0;
    for (const [dialog, at] of this.#expiry) {
      if (at > now || ++checked > SWEEP) return;
      this.#remove(dialog);
    }
  }

  #remove(dialog: Dialog): void {
    this.#expiry.delete(dialog);
    const timer = this.#ending.get(dialog);
    if (timer !== undefined) this.#clock.clearTimer(timer);
    this.#ending.delete(dialog);
    pull(this.#byOutside, dialog.outsideCallId, dialog);
    pull(this.#byInside, dialog.insideCallId, dialog);
  }
}

function push(map: Map<string, Dialog[]>, key: string, dialog: Dialog): void {
  const list = map.get(key);
  if (list) list.push(dialog);
  else map.set(key, [dialog]);
}

function pull(map: Map<string, Dialog[]>, key: string, dialog: Dialog): void {
  const list = map.get(key)?.filter((d) => d !== dialog);
  if (list && list.length > 0) map.set(key, list);
  else map.delete(key);
}
