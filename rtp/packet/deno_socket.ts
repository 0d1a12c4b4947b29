/**
 * The portable relay socket backend: `Deno.listenDatagram`, one receive loop per socket with a
 * reused buffer, each datagram sent on before the next receive. No socket options (Deno exposes no
 * setsockopt), so the kernel's default receive buffer and no DSCP marking.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { type DatagramBackend, type Forwarder, PACKET_ROOM, type RelaySocket } from "./backend.ts";

/** Largest datagram relayed whole; RTP stays under the path MTU, longer ones are truncated. */
const RECEIVE_BUFFER = 8192;
/** Consecutive receive errors (ICMP reports) tolerated on a live socket. */
const MAX_ERRORS = 100;

const log = getLogger(["edgesbc", "rtp"]);

/** Backend over `Deno.listenDatagram`; owns nothing beyond its sockets. */
export class DenoBackend implements DatagramBackend {
  readonly name = "deno" as const;

  bind(hostname: string, port: number): RelaySocket {
    return new DenoSocket(Deno.listenDatagram({ transport: "udp", hostname, port }), port);
  }

  close(): void {}
}

class DenoSocket implements RelaySocket {
  readonly #conn: Deno.DatagramConn;
  readonly #port: number;
  #running = false;
  #closed = false;
  #onFree: (() => void) | undefined;

  constructor(conn: Deno.DatagramConn, port: number) {
    this.#conn = conn;
    this.#port = port;
  }

  start(forwarder: Forwarder, out: RelaySocket): void {
    if (this.#running || this.#closed || !(out instanceof DenoSocket)) return;
    this.#running = true;
    void this.#pump(forwarder, out.#conn);
  }

  close(onFree: () => void): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    // A socket with a receive in flight stays bound until that receive ends: freeing the port
    // now would make the next bind fail with AddrInUse.
    if (this.#running) this.#onFree = onFree;
    else onFree();
  }

  /** Hot path: forwards each datagram as received. */
  async #pump(forwarder: Forwarder, out: Deno.DatagramConn): Promise<void> {
    // One receive buffer per socket, reused: Deno's default allocates 64 KiB per datagram.
    // The send is awaited before the next receive overwrites it.
    const buf = new Uint8Array(RECEIVE_BUFFER);
    // Received into all but the last bytes: an SRTP trailer may be added in place.
    const into = buf.subarray(0, RECEIVE_BUFFER - PACKET_ROOM);
    let errors = 0;
    for (;;) {
      let packet: [Uint8Array, Deno.Addr];
      try {
        packet = await this.#conn.receive(into);
      } catch (e) {
        // A transient error (an ICMP report) on a live socket: keep receiving, within reason.
        if (!this.#closed && !(e instanceof Deno.errors.BadResource) && ++errors < MAX_ERRORS) {
          continue;
        }
        if (!this.#closed) {
          log.error("rtp.receive.failed {port}: {error}", { port: this.#port, error: e });
        }
        this.#running = false;
        // Closed: the socket is unbound now.
        this.#onFree?.();
        return;
      }
      errors = 0;
      const dest = forwarder.forward(packet[1] as Deno.NetAddr, buf, packet[0].byteLength);
      if (dest === null) continue;
      try {
        await out.send(buf.subarray(0, forwarder.sendLength), dest);
      } catch {
        forwarder.sendFailed(1);
      }
    }
  }
}
