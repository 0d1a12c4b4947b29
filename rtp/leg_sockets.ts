/**
 * The relay's sockets: the backend and one port pool per media address (`LegSockets`), and the
 * binding and unbinding of one leg's pair: a port pair from the pool, RTP and RTCP bound on the
 * side's media address, a pair someone else holds taken out of the pool for good; on close the
 * ports go back only once both sockets are unbound (at once for FFI; for Deno, after the pending
 * receive has ended, a few event-loop turns after close). Also starting a stream's four receive
 * pumps.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Side } from "../config/config.ts";
import type { BackendName, DatagramBackend, RelaySocket } from "./packet/backend.ts";
import { legForwarder, type RelayTotals } from "./packet/forward.ts";
import { openBackend } from "./packet/open_backend.ts";
import { PortPool } from "./port_pool.ts";
import type { MediaClock, RelayOptions } from "./relay_types.ts";
import type { Leg } from "./packet/leg.ts";
import { newLeg } from "./session.ts";

interface BindOptions {
  readonly sockets: DatagramBackend;
  /** Pool of the media address. */
  readonly pool: PortPool;
  /** Media address to bind on. */
  readonly hostname: string;
}

export interface PumpOptions {
  readonly totals: RelayTotals;
  readonly clock: MediaClock;
}

const log = getLogger(["edgesbc", "rtp"]);

/** Owns the socket backend and the port pools; `close()` frees the backend. */
export class LegSockets {
  readonly #sides: RelayOptions["sides"];
  readonly #backend: DatagramBackend;
  readonly #pools = new Map<string, PortPool>();

  constructor(options: Pick<RelayOptions, "sides" | "ports" | "backend">) {
    this.#sides = options.sides;
    const addresses = [options.sides.external.media, options.sides.internal.media];
    for (const address of addresses) {
      if (!this.#pools.has(address)) {
        this.#pools.set(address, new PortPool(options.ports[0], options.ports[1]));
      }
    }
    this.#backend = openBackend(addresses, options.backend);
    log.info("rtp.backend {backend}", { backend: this.#backend.name });
  }

  get backend(): BackendName {
    return this.#backend.name;
  }

  /** One pool per media address, for the stats. */
  get pools(): Iterable<PortPool> {
    return this.#pools.values();
  }

  /** A leg facing each party, on its side's media address; none when either cannot bind. */
  openPair(sides: readonly [Side, Side]): readonly [Leg, Leg] | "exhausted" | "failed" {
    const a = this.#open(sides[0]);
    if (typeof a === "string") return a;
    const b = this.#open(sides[1]);
    if (typeof b === "string") {
      this.closeLeg(a);
      return b;
    }
    return [a, b];
  }

  /** Closes a leg's sockets; its ports go back to the pool once both are unbound. */
  closeLeg(leg: Leg): void {
    closeLeg(leg, () => this.#pools.get(this.#sides[leg.side].media)!.release(leg.port));
  }

  /** Frees what the backend owns (legs are closed by the relay first). */
  close(): void {
    this.#backend.close();
  }

  #open(side: Side): Leg | "exhausted" | "failed" {
    const hostname = this.#sides[side].media;
    return openLeg(side, { sockets: this.#backend, pool: this.#pools.get(hostname)!, hostname });
  }
}

/** Binds a leg for `side` on the next free port pair; "exhausted" or "failed" when none binds. */
function openLeg(side: Side, options: BindOptions): Leg | "exhausted" | "failed" {
  const { sockets, pool, hostname } = options;
  for (;;) {
    const port = pool.allocate();
    if (port === undefined) return "exhausted";
    let rtp: RelaySocket | undefined;
    try {
      rtp = sockets.bind(hostname, port);
      const rtcp = sockets.bind(hostname, port + 1);
      return newLeg(side, port, rtp, rtcp);
    } catch (e) {
      rtp?.close(() => {});
      if (e instanceof Deno.errors.AddrInUse) {
        // Someone else holds it: never hand it out again, try the next pair.
        pool.markBad(port);
        log.warn("rtp.port.busy {hostname}:{port}: taken out of the pool", { hostname, port });
        continue;
      }
      pool.release(port);
      log.error("rtp.bind.failed {hostname}:{port}: {error}", { hostname, port, error: e });
      return "failed";
    }
  }
}

/** Closes both sockets of `leg` once; `release` runs when both are unbound. */
function closeLeg(leg: Leg, release: () => void): void {
  if (leg.closed) return;
  leg.closed = true;
  // The pair goes back to the pool only once both sockets are unbound: a port handed out
  // earlier would make the next bind fail with AddrInUse.
  let bound = 2;
  const unbound = () => {
    if (--bound === 0) release();
  };
  leg.rtp.close(unbound);
  leg.rtcp.close(unbound);
}

/** Starts receiving on all four sockets of a stream, each relaying towards the other leg. */
export function startPumps(
  legs: readonly [Leg, Leg],
  options: PumpOptions,
): void {
  const [a, b] = legs;
  const { totals, clock } = options;
  const now = () => clock.now();
  a.rtp.start(legForwarder(a, b, { rtcp: false, totals, now }), b.rtp);
  a.rtcp.start(legForwarder(a, b, { rtcp: true, totals, now }), b.rtcp);
  b.rtp.start(legForwarder(b, a, { rtcp: false, totals, now }), a.rtp);
  b.rtcp.start(legForwarder(b, a, { rtcp: true, totals, now }), a.rtcp);
}
