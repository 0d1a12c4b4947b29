/**
 * What the relay needs from a UDP socket on the forwarding path. Two backends implement it:
 * - `ffi` (rtp/packet/ffi_socket.ts): non-blocking sockets driven through libc (recvmmsg,
 *   sendmmsg, epoll), with a 4 MiB receive buffer and DSCP EF; needs `--allow-ffi` and IPv4 media
 *   addresses.
 * - `deno` (rtp/packet/deno_socket.ts): `Deno.listenDatagram`, one receive loop per socket.
 * rtp/packet/open_backend.ts picks one per relay.
 *
 * The relay decides per datagram (latching, counters) through a `Forwarder`; the backend moves the
 * bytes, forwarding each datagram as received.
 *
 * @module
 */

export const BACKEND = { ffi: "ffi", deno: "deno" } as const;
export type BackendName = typeof BACKEND[keyof typeof BACKEND];

/** Per-socket forwarding decision, made by the relay. */
export interface Forwarder {
  /**
   * Where the datagram `packet[0, length)` from `source` goes (counted as relayed), or null to
   * drop it. It may be rewritten in place (SRTP to RTP and back): `packet` has room past `length`
   * (at least `PACKET_ROOM` bytes), and `sendLength` says how much to send.
   */
  forward(source: Deno.NetAddr, packet: Uint8Array, length: number): Deno.NetAddr | null;
  /** The length to send after a `forward` that returned a destination. */
  readonly sendLength: number;
  /** `count` forwarded datagrams could not be sent. */
  sendFailed(count: number): void;
}

/** Bytes a backend leaves free past a received datagram, for an SRTP trailer (at most 14). */
export const PACKET_ROOM = 64;

/** A bound UDP socket of the relay. */
export interface RelaySocket {
  /** Starts receiving: each datagram goes where the forwarder says, out of `out`. */
  start(forwarder: Forwarder, out: RelaySocket): void;
  /** Closes; `onFree` runs once the port can be bound again (at once when nothing is pending). */
  close(onFree: () => void): void;
}

/** Creates the relay's sockets; `close()` frees what the backend itself owns. */
export interface DatagramBackend {
  readonly name: BackendName;
  /** Binds `hostname:port`; throws `Deno.errors.AddrInUse` when the port is taken. */
  bind(hostname: string, port: number): RelaySocket;
  close(): void;
}
