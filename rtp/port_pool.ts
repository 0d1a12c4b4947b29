/**
 * Even RTP ports (RTCP = RTP + 1) inside an inclusive range, for one media address. Pure
 * bookkeeping: binding happens in relay.ts, which marks a pair bad when the OS refuses it.
 *
 * Free pairs are handed out first-in first-out, so a port just released is the last to be reused:
 * late packets of an ended call do not land in a new one.
 *
 * @module
 */

export class PortPool {
  readonly #first: number;
  /** Ring buffer of free RTP ports. */
  readonly #ring: Int32Array;
  #head = 0;
  #count = 0;
  /** 0 = free, 1 = in use, 2 = bad (never handed out again). Indexed by pair number. */
  readonly #state: Uint8Array;
  #inUse = 0;
  #bad = 0;

  /** Pairs (p, p+1) with p even and min <= p, p+1 <= max. An empty range is allowed. */
  constructor(min: number, max: number) {
    this.#first = min % 2 === 0 ? min : min + 1;
    const pairs = max >= this.#first + 1 ? Math.floor((max - this.#first + 1) / 2) : 0;
    this.#ring = new Int32Array(pairs);
    this.#state = new Uint8Array(pairs);
    for (let i = 0; i < pairs; i++) this.#ring[i] = this.#first + 2 * i;
    this.#count = pairs;
  }

  /** Number of pairs currently allocated. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Number of pairs that can still be allocated. */
  get free(): number {
    return this.#count;
  }

  /** Number of pairs taken out of service because binding them failed. */
  get bad(): number {
    return this.#bad;
  }

  /** Takes the least recently freed pair; returns its RTP port, or undefined when none is free. */
  allocate(): number | undefined {
    if (this.#count === 0) return undefined;
    const port = this.#ring[this.#head]!;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#count--;
    this.#state[(port - this.#first) / 2] = 1;
    this.#inUse++;
    return port;
  }

  /** Returns a pair to the pool; ignores ports that are not allocated (double free is harmless). */
  release(port: number): void {
    const i = this.#index(port);
    if (i === undefined || this.#state[i] !== 1) return;
    this.#state[i] = 0;
    this.#inUse--;
    this.#ring[(this.#head + this.#count) % this.#ring.length] = port;
    this.#count++;
  }

  /** Takes an allocated pair out of service for good (the OS would not bind it). */
  markBad(port: number): void {
    const i = this.#index(port);
    if (i === undefined || this.#state[i] !== 1) return;
    this.#state[i] = 2;
    this.#inUse--;
    this.#bad++;
  }

  #index(port: number): number | undefined {
    const off = port - this.#first;
    if (off < 0 || off % 2 !== 0 || off / 2 >= this.#state.length) return undefined;
    return off / 2;
  }
}
