/**
 * Phones registered from behind NAT (their Contact names another address than their SIP comes
 * from), whose NAT bindings the SBC keeps open so calls from the PBX still reach them (Kamailio's
 * nathelper `nat_keepalive`, RFC 5626 §3.5.1 for CRLF on streams). Bookkeeping only: the core
 * sends the pings and feeds back the answers.
 *
 * @module
 */
import type { SipProto } from "../../config/config.ts";
import type { Peer } from "../transport/peer.ts";
import { peerKey } from "../transport/peer.ts";

/**
 * Pings in a row without an answer after which a UDP binding is forgotten. A stream binding lives
 * as long as its connection: the core forgets it when a ping cannot be written.
 */
export const MAX_MISSED = 3;

export interface NatBinding {
  /** The registered Contact URI (private), used as the ping's Request-URI. */
  readonly contact: string;
  /** Where the phone's SIP comes from: the NAT's public address. */
  readonly peer: Peer;
  readonly proto: SipProto;
  /** Clock ms when the registration expires. */
  expiresAt: number;
  /** Pings sent since the last answer. */
  missed: number;
  /** The branch of the ping waiting for an answer. */
  branch: string | undefined;
}

/** Bindings kept at most from one source host, and in all: a registrar's 200s cannot grow them. */
export const MAX_BINDINGS_PER_HOST = 16;
export const MAX_BINDINGS = 100_000;
/** A registration longer than this is kept alive only this long before the phone refreshes it. */
const MAX_EXPIRY_MS = 24 * 3600_000;

export class NatBindings {
  readonly #bindings = new Map<string, NatBinding>();
  readonly #byBranch = new Map<string, NatBinding>();
  /** Bindings per source host, for `MAX_BINDINGS_PER_HOST`. */
  readonly #perHost = new Map<string, number>();

  get size(): number {
    return this.#bindings.size;
  }

  /** A registration accepted (or refreshed) for `contact` behind `peer`; 0 expiry removes it. */
  learn(binding: { contact: string; peer: Peer; proto: SipProto; expiresAt: number }, now: number) {
    const key = `${binding.proto}:${peerKey(binding.peer)}`;
    if (binding.expiresAt <= now) return void this.#forget(key);
    const expiresAt = Math.min(binding.expiresAt, now + MAX_EXPIRY_MS);
    const known = this.#bindings.get(key);
    if (known) return void (known.expiresAt = expiresAt);
    const host = binding.peer.host;
    const fromHost = this.#perHost.get(host) ?? 0;
    if (fromHost >= MAX_BINDINGS_PER_HOST || this.#bindings.size >= MAX_BINDINGS) return;
    this.#perHost.set(host, fromHost + 1);
    this.#bindings.set(key, { ...binding, expiresAt, missed: 0, branch: undefined });
  }

  /**
   * The bindings to ping now, each given a fresh branch by `branchOf`; expired ones and those
   * that missed too many pings are forgotten first.
   */
  due(now: number, branchOf: () => string): NatBinding[] {
    const out: NatBinding[] = [];
    for (const [key, b] of this.#bindings) {
      if (b.expiresAt <= now || b.missed >= MAX_MISSED) {
        this.#forget(key);
        continue;
      }
      if (b.branch !== undefined) this.#byBranch.delete(b.branch);
      if (b.proto === "udp") {
        b.missed++;
        b.branch = branchOf();
        this.#byBranch.set(b.branch, b);
      }
      out.push(b);
    }
    return out;
  }

  /** An answer to a ping (any status: the NAT let it through); false when it is no ping's. */
  answered(branch: string): boolean {
    const b = this.#byBranch.get(branch);
    if (b === undefined) return false;
    this.#byBranch.delete(branch);
    b.branch = undefined;
    b.missed = 0;
    return true;
  }

  /** A ping could not be sent (a stream binding's connection is gone): the binding goes. */
  failed(b: NatBinding): void {
    const key = `${b.proto}:${peerKey(b.peer)}`;
    if (this.#bindings.get(key) === b) this.#forget(key);
  }

  clear(): void {
    this.#bindings.clear();
    this.#byBranch.clear();
    this.#perHost.clear();
  }

  #forget(key: string): void {
    const b = this.#bindings.get(key);
    if (b === undefined) return;
    if (b.branch !== undefined) this.#byBranch.delete(b.branch);
    this.#bindings.delete(key);
    const left = (this.#perHost.get(b.peer.host) ?? 1) - 1;
    if (left > 0) this.#perHost.set(b.peer.host, left);
    else this.#perHost.delete(b.peer.host);
  }
}
