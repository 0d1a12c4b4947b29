/**
 * Health checks of the PBX targets (Kamailio's dispatcher `ds_ping_interval`): every `interval`
 * seconds an OPTIONS to each target from the internal interface. An answer counts as good unless
 * `failure_status` matches it (by default 408, 5xx and 6xx: a PBX that answers 404 or 405 to
 * OPTIONS is up); no answer within the ping timeout counts as failed. The pool (pbx_pool.ts)
 * turns the outcomes into up and down.
 *
 * The core hands back every answer whose branch ends in `HEALTH_PING` (`answered`).
 *
 * @module
 */
import type { Clock } from "../transaction/clock.ts";
import { formatSocketAddress } from "../../config/socket_address.ts";
import type { PbxTarget } from "../../config/config.ts";
import type { Send } from "../transport/transport.ts";
import { toBytes } from "../message/serialize.ts";
import { isIpLiteral, resolveHost } from "../transport/destination.ts";
import { hostPort, type LocalSide } from "./local_address.ts";
import type { PbxPool, Transition } from "./pbx_pool.ts";

/** The end of a health ping's branch, so its answer is told from any transaction's. */
export const HEALTH_PING = "-hc";

/** How long a ping waits for its answer, at most (less when the interval is shorter). */
const PING_TIMEOUT_MS = 2000;

export interface PbxHealthOptions {
  readonly pool: PbxPool;
  readonly clock: Clock;
  readonly send: Send;
  readonly side: LocalSide;
  /** A fresh branch (the core's random ones); `HEALTH_PING` is appended. */
  readonly branch: () => string;
  /** Wall-clock ms, for the pool's `since`. */
  readonly now: () => number;
  readonly onTransition: (t: Transition) => void;
}

/** A good answer to a health ping: one `failureStatus` (matched whole) does not match. */
export function healthyStatus(status: number, failureStatus: RegExp): boolean {
  return !failureStatus.test(String(status));
}

/** `[pbx.health] failure_status` as the pattern it is matched with. */
export function failurePattern(failureStatus: string): RegExp {
  return new RegExp(`^(?:${failureStatus})$`);
}

export class PbxHealth {
  readonly #o: PbxHealthOptions;
  /** Pings waiting for their answer: branch → target name and its timeout. */
  readonly #pending = new Map<string, { name: string; timer: number }>();
  #timer: number | undefined;
  #intervalMs = 0;
  #failure = failurePattern("408|5[0-9][0-9]|6[0-9][0-9]");

  constructor(options: PbxHealthOptions) {
    this.#o = options;
  }

  /** Pings every `seconds` (0 stops); the first round goes out at once. */
  start(seconds: number, failureStatus: string): void {
    this.stop();
    this.#failure = failurePattern(failureStatus);
    this.#intervalMs = seconds * 1000;
    if (seconds > 0) this.#round();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    for (const { timer } of this.#pending.values()) this.#o.clock.clearTimer(timer);
    this.#pending.clear();
  }

  /** An answer to a ping (true), or not one of ours (false). */
  answered(branch: string, status: number): boolean {
    const ping = this.#pending.get(branch);
    if (ping === undefined) return false;
    if (status < 200) return true; // a provisional: the final answer decides
    this.#o.clock.clearTimer(ping.timer);
    this.#pending.delete(branch);
    this.#report(ping.name, healthyStatus(status, this.#failure));
    return true;
  }

  #round(): void {
    for (const state of this.#o.pool.states) void this.#ping(state.target);
    this.#timer = this.#o.clock.setTimer(() => this.#round(), this.#intervalMs);
  }

  async #ping(target: PbxTarget): Promise<void> {
    const { side, clock } = this.#o;
    const name = formatSocketAddress(target.address);
    const branch = this.#o.branch() + HEALTH_PING;
    const via = hostPort(side, target.address.proto);
    const host = target.address.host.includes(":")
      ? `[${target.address.host}]`
      : target.address.host;
    const uri = `sip:${host}:${target.address.port}`;
    const text = [
      `OPTIONS ${uri} SIP/2.0`,
      `Via: SIP/2.0/${target.address.proto.toUpperCase()} ${via};branch=${branch};rport`,
      "Max-Forwards: 70",
      `From: <sip:health@${via}>;tag=${branch.slice(-16, -3)}`,
      `To: <${uri}>`,
      `Call-ID: ${branch}`,
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    const timeout = Math.min(PING_TIMEOUT_MS, this.#intervalMs);
    const timer = clock.setTimer(() => {
      this.#pending.delete(branch);
      this.#report(name, false);
    }, timeout);
    this.#pending.set(branch, { name, timer });
    // A host name is looked up each round, as a call to it would be.
    const { address } = target;
    const dest = isIpLiteral(address.host)
      ? { host: address.host, port: address.port }
      : (await resolveHost(address.host, address.port, address.proto))?.peer;
    const sent = dest !== undefined && await this.#o.send(
      { side: side.side, proto: address.proto, dest, connection: undefined },
      toBytes(text),
    );
    // Not even sent (no address, a TCP connect refused): a failure now, not at the timeout.
    if (sent || !this.#pending.has(branch)) return;
    clock.clearTimer(timer);
    this.#pending.delete(branch);
    this.#report(name, false);
  }

  #report(name: string, ok: boolean): void {
    const change = this.#o.pool.report(name, ok, this.#o.now());
    if (change) this.#o.onTransition(change);
  }
}
