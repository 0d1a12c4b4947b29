/**
 * The PBXs a call from outside may go to (`[pbx] targets`), and which of them are up. Kamailio's
 * dispatcher is the reference: targets are tried in priority order (lowest first); inside one
 * priority the first is a weighted choice made by a hash of the Call-ID (so a retried call lands
 * on the same target, algorithm 9 keyed like algorithm 0), the others follow in weighted order.
 *
 * Health: a target is down after `failures` failed pings in a row and up again after `successes`
 * good ones (`[pbx.health]`); a target starts up. Pure bookkeeping: the core sends the pings
 * (sbc/proxy/pbx_health.ts) and reports each outcome here.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { PbxTarget } from "../../config/config.ts";
import { formatSocketAddress } from "../../config/socket_address.ts";

/** One target and what the pool knows of it. */
export interface TargetState {
  readonly target: PbxTarget;
  /** `proto:host:port`, the target's name in logs, metrics and the admin API. */
  readonly name: string;
  up: boolean;
  /** Wall-clock ms of the last change of `up` (or of the pool's start). */
  since: number;
  /** Failed pings in a row while up; good pings in a row while down. */
  streak: number;
}

export interface HealthRule {
  /** Failed pings in a row before a target is down. */
  readonly failures: number;
  /** Good pings in a row before it is up again. */
  readonly successes: number;
}

/** A change of a target's state, for the one log line it deserves. */
export interface Transition {
  readonly name: string;
  readonly up: boolean;
}

export class PbxPool {
  #states: TargetState[];
  #rule: HealthRule;

  constructor(targets: readonly PbxTarget[], rule: HealthRule, now: number) {
    this.#rule = rule;
    this.#states = targets.map((target) => ({
      target,
      name: formatSocketAddress(target.address),
      up: true,
      since: now,
      streak: 0,
    }));
  }

  /**
   * New targets and rule (a config reload): a target kept by its address keeps its state, a new
   * one starts up.
   */
  replace(targets: readonly PbxTarget[], rule: HealthRule, now: number): void {
    const old = new Map(this.#states.map((s) => [s.name, s]));
    this.#rule = rule;
    this.#states = targets.map((target) => {
      const name = formatSocketAddress(target.address);
      const kept = old.get(name);
      return kept ? { ...kept, target } : { target, name, up: true, since: now, streak: 0 };
    });
  }

  get states(): readonly Readonly<TargetState>[] {
    return this.#states;
  }

  /** Some target is up. */
  get anyUp(): boolean {
    return this.#states.some((s) => s.up);
  }

  /**
   * The targets that are up, in the order a new call tries them: by priority, and within one
   * priority weighted, starting from the Call-ID's choice.
   */
  order(callId: string): PbxTarget[] {
    const up = this.#states.filter((s) => s.up).map((s) => s.target);
    const priorities = [...new Set(up.map((t) => t.priority))].sort((a, b) => a - b);
    const out: PbxTarget[] = [];
    let seed = callIdHash(callId);
    for (const priority of priorities) {
      const group = up.filter((t) => t.priority === priority);
      while (group.length > 0) {
        const total = group.reduce((sum, t) => sum + t.weight, 0);
        let point = seed % total;
        const i = group.findIndex((t) => (point -= t.weight) < 0);
        out.push(...group.splice(i, 1));
        // The next choice in the group is made from the rest of the hash.
        seed = Math.floor(seed / total);
      }
    }
    return out;
  }

  /** The outcome of one ping to `name`; the transition when the target changes state. */
  report(name: string, ok: boolean, now: number): Transition | undefined {
    const s = this.#states.find((state) => state.name === name);
    if (s === undefined) return undefined;
    // A streak counts what would change the state: failures while up, successes while down.
    if (ok === s.up) {
      s.streak = 0;
      return undefined;
    }
    s.streak++;
    if (s.streak < (s.up ? this.#rule.failures : this.#rule.successes)) return undefined;
    s.up = !s.up;
    s.since = now;
    s.streak = 0;
    return { name: s.name, up: s.up };
  }
}

/** 48 bits of SHA-1 over the Call-ID: stable across processes, spread evenly. */
function callIdHash(callId: string): number {
  const digest = createHash("sha1").update(callId).digest();
  return digest.readUIntBE(0, 6);
}
