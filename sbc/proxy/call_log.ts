/**
 * The call log: one line when a call ends (`call.end`) and one when the SBC itself refuses a
 * request (`call.refused` for an initial INVITE, `request.refused` for anything else), at info.
 * The proxy core reports what it sees (initial INVITE, first 2xx, BYE, CANCEL, final answer,
 * timeout); the relay's counters are read when the call ends, before its media session goes.
 *
 * Both lines carry flat, stable keys: the text format shows them as `key=value`, the JSON format
 * as top-level keys. docs/operations.md lists them.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Side } from "../../config/config.ts";
import { getHeader } from "../message/message.ts";
import { type SipMessage } from "../message/sip_message.ts";
import { parseNameAddr } from "../message/header_codecs.ts";
import type { CallTraffic } from "../../rtp/session.ts";
import { parseUri } from "../message/uri.ts";

const log = getLogger(["edgesbc", "call"]);

const NO_TRAFFIC: CallTraffic = {
  external: { packets: 0, bytes: 0 },
  internal: { packets: 0, bytes: 0 },
};

/** How a call ended. */
export const CALL_END = {
  /** A BYE, `by` the side that sent it. */
  bye: "bye",
  /** The caller's CANCEL (`by` its side), answered 487. */
  cancel: "cancel",
  /** A final non-2xx answer to the INVITE, `by` the side that sent it. */
  final: "final",
  /** No final answer downstream: the SBC answered 408. */
  timeout: "timeout",
  /** The relay saw no media for `[media] timeout` seconds and dropped the session. */
  mediaTimeout: "media-timeout",
  /** The SBC stopped with the call still up. */
  shutdown: "shutdown",
} as const;
export type CallEndKind = typeof CALL_END[keyof typeof CALL_END];

/** What is known of a call from its initial INVITE and its first 2xx. */
export interface CallRecord {
  readonly callId: string;
  /** From and To users (a tel: URI's number); null when the URI has none. */
  readonly from: string | null;
  readonly to: string | null;
  /** The side the initial INVITE came from. */
  readonly caller: Side;
  /** Wall-clock ms: the initial INVITE arrived. */
  readonly start: number;
  /** Wall-clock ms: the first 2xx to it was forwarded. */
  answer: number | undefined;
}

export interface CallEnd {
  readonly how: CallEndKind;
  /** Side that sent the BYE, CANCEL or final answer; "sbc" for the SBC's own 408. */
  readonly by: Side | "sbc" | null;
  readonly status: number | null;
  /** Wall-clock ms. */
  readonly at: number;
}

/** The `call.end` line's properties (JSON keys; `key=value` pairs in text). */
export interface CallEndProperties {
  readonly event: "call.end";
  readonly callId: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly caller: Side;
  readonly start: string;
  readonly answer: string | null;
  readonly end: string;
  /** Seconds from answer to end (talk time); 0 for a call never answered. */
  readonly duration: number;
  readonly ended: CallEndKind;
  readonly by: Side | "sbc" | null;
  readonly status: number | null;
  /** Received from the external side and relayed to the internal one. */
  readonly extToIntPackets: number;
  readonly extToIntBytes: number;
  /** Received from the internal side and relayed to the external one. */
  readonly intToExtPackets: number;
  readonly intToExtBytes: number;
}

const CALL_END_MESSAGE = "{event} callId={callId} from={from} to={to} caller={caller} " +
  "start={start} answer={answer} end={end} duration={duration} ended={ended} by={by} " +
  "status={status} extToIntPackets={extToIntPackets} extToIntBytes={extToIntBytes} " +
  "intToExtPackets={intToExtPackets} intToExtBytes={intToExtBytes}";

/** The `call.refused` / `request.refused` line's properties. */
export interface RefusalProperties {
  readonly event: "call.refused" | "request.refused";
  readonly method: string;
  readonly callId: string;
  readonly from: string | null;
  readonly to: string | null;
  /** Side the request came from, and its source address. */
  readonly side: Side;
  readonly source: string;
  readonly status: number;
  readonly reason: string;
}

// The reason goes last: it is the only value with spaces.
const REFUSAL_MESSAGE = "{event} {method} callId={callId} from={from} to={to} side={side} " +
  "source={source} status={status} reason={reason}";

/** A new call from its initial INVITE. */
export function callRecord(msg: SipMessage, caller: Side, start: number): CallRecord {
  return {
    callId: msg.callId,
    from: headerUser(msg, "from"),
    to: headerUser(msg, "to"),
    caller,
    start,
    answer: undefined,
  };
}

/** The user part of the From or To URI; a tel: URI's number; null when there is none. */
function headerUser(msg: SipMessage, name: "from" | "to"): string | null {
  const value = getHeader(msg, name);
  const nameAddr = value === undefined ? undefined : parseNameAddr(value);
  const uri = nameAddr === undefined ? undefined : parseUri(nameAddr.uri);
  if (uri === undefined) return null;
  return uri.scheme === "tel" ? uri.host : uri.user ?? null;
}

/** The `call.end` line for a call that ended as `end`, with the media it relayed. */
export function callEndProperties(
  record: CallRecord,
  end: CallEnd,
  traffic: CallTraffic,
): CallEndProperties {
  const iso = (ms: number) => new Date(ms).toISOString();
  const talk = record.answer === undefined ? 0 : Math.max(0, end.at - record.answer);
  return {
    event: "call.end",
    callId: record.callId,
    from: record.from,
    to: record.to,
    caller: record.caller,
    start: iso(record.start),
    answer: record.answer === undefined ? null : iso(record.answer),
    end: iso(end.at),
    duration: talk / 1000,
    ended: end.how,
    by: end.by,
    status: end.status,
    extToIntPackets: traffic.external.packets,
    extToIntBytes: traffic.external.bytes,
    intToExtPackets: traffic.internal.packets,
    intToExtBytes: traffic.internal.bytes,
  };
}

/** The refusal line for a request the SBC itself answered with `status` (>= 300). */
export function refusalProperties(
  msg: SipMessage,
  answer: {
    readonly side: Side;
    readonly source: { readonly host: string; readonly port: number };
    readonly status: number;
    readonly reason: string;
  },
): RefusalProperties {
  const { host, port } = answer.source;
  return {
    event: isInitialInvite(msg) ? "call.refused" : "request.refused",
    method: msg.method,
    callId: msg.callId,
    from: headerUser(msg, "from"),
    to: headerUser(msg, "to"),
    side: answer.side,
    source: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
    status: answer.status,
    reason: answer.reason,
  };
}

/** An INVITE outside any dialog: the request that starts a call. */
export function isInitialInvite(msg: SipMessage): boolean {
  return msg.kind === "request" && msg.method === "INVITE" && msg.toTag === undefined;
}

export interface CallLogOptions {
  /** The relay's counters for a call; undefined without a relay. */
  readonly traffic: ((callId: string) => CallTraffic) | undefined;
  /** Wall-clock ms; default Date.now. */
  readonly now?: () => number;
  /** Calls remembered at most; the oldest is forgotten (without a line) beyond it. */
  readonly limit?: number;
}

/**
 * The calls in progress, by Call-ID, and the lines they end with. A call without media and
 * without a BYE (a lost one) stays until the limit pushes it out or the SBC stops.
 */
export class CallLog {
  readonly #calls = new Map<string, CallRecord>();
  readonly #traffic: (callId: string) => CallTraffic;
  readonly #now: () => number;
  readonly #limit: number;

  constructor(options: CallLogOptions) {
    this.#traffic = options.traffic ?? (() => NO_TRAFFIC);
    this.#now = options.now ?? Date.now;
    this.#limit = options.limit ?? 100_000;
  }

  /** Calls in progress. */
  get size(): number {
    return this.#calls.size;
  }

  /** An initial INVITE arrived; a second one with the same Call-ID (a spiral) changes nothing. */
  started(msg: SipMessage, caller: Side): void {
    if (this.#calls.has(msg.callId)) return;
    if (this.#calls.size >= this.#limit) {
      const oldest = this.#calls.keys().next().value!;
      this.#calls.delete(oldest);
      log.debug("call.forgotten {callId}: more than {limit} calls", {
        callId: oldest,
        limit: this.#limit,
      });
    }
    this.#calls.set(msg.callId, callRecord(msg, caller, this.#now()));
  }

  /** A 2xx to the initial INVITE was forwarded; the first one is the answer time. */
  answered(callId: string): void {
    const record = this.#calls.get(callId);
    if (record !== undefined) record.answer ??= this.#now();
  }

  /** Logs the call's end and forgets it; call it before the media session is deleted. */
  ended(callId: string, how: CallEndKind, by: CallEnd["by"], status: number | null = null): void {
    const record = this.#calls.get(callId);
    if (record === undefined) return;
    this.#calls.delete(callId);
    const end = { how, by, status, at: this.#now() };
    log.info(CALL_END_MESSAGE, { ...callEndProperties(record, end, this.#traffic(callId)) });
  }

  /** Logs a request the SBC answered >= 300 by itself; a refused initial INVITE is no call. */
  refused(msg: SipMessage, answer: Parameters<typeof refusalProperties>[1]): void {
    if (isInitialInvite(msg)) this.#calls.delete(msg.callId);
    log.info(REFUSAL_MESSAGE, { ...refusalProperties(msg, answer) });
  }

  /** A request the routing script dropped: an initial INVITE's call is forgotten without a line. */
  dropped(msg: SipMessage): void {
    if (isInitialInvite(msg)) this.#calls.delete(msg.callId);
  }

  /** The proxy itself ended the caller's initial INVITE (a timeout, a CANCEL that came first). */
  endedByProxy(msg: SipMessage, how: CallEndKind, by: CallEnd["by"], status: number): void {
    if (isInitialInvite(msg)) this.ended(msg.callId, how, by, status);
  }

  /**
   * A final answer to the caller's initial INVITE goes upstream: a 2xx answers the call, a 487 to
   * a cancelled one ends it as cancelled (by the caller), anything else ends it with that code
   * (by the side that answered).
   */
  finalAnswer(
    msg: SipMessage,
    status: number,
    sides: { readonly from: Side; readonly caller: Side; readonly cancelled: boolean },
  ): void {
    if (status < 200 || !isInitialInvite(msg)) return;
    if (status < 300) this.answered(msg.callId);
    else if (sides.cancelled && status === 487) {
      this.ended(msg.callId, CALL_END.cancel, sides.caller, 487);
    } else this.ended(msg.callId, CALL_END.final, sides.from, status);
  }

  /** Ends every call still up (the SBC is stopping). */
  endAll(): void {
    for (const callId of [...this.#calls.keys()]) this.ended(callId, CALL_END.shutdown, null);
  }
}
