/**
 * SIP transports: UDP sockets and TCP listeners/connections on both interfaces (RFC 3261 §18).
 *
 * Bytes in, bytes out: this file knows nothing of SIP beyond TCP framing. Every received message
 * is handed to one callback with the interface, transport and source it came from.
 */
import { getLogger } from "@logtape/logtape";
import type { Role, SipProto, SocketAddress } from "../../config/config.ts";
import { bindError } from "./bind_error.ts";
import { StreamFramer } from "./tcp_framing.ts";

const log = getLogger(["edgesbc", "transport"]);

export interface Peer {
  readonly host: string;
  readonly port: number;
}

/** One received message with where it came from. */
export interface Inbound {
  /** Valid only during the `onMessage` call: UDP receive buffers are reused. */
  readonly data: Uint8Array;
  readonly source: Peer;
  readonly iface: Role;
  readonly proto: SipProto;
  /** The local socket it arrived on. */
  readonly local: SocketAddress;
  /** The TCP connection it arrived on; replies go back over it (RFC 3261 §18.2.2). */
  readonly connection: TcpConnection | undefined;
}

export interface TransportOptions {
  readonly sockets: readonly { readonly iface: Role; readonly address: SocketAddress }[];
  /** Milliseconds before an idle TCP connection is closed. */
  readonly tcpIdleTimeout: number;
  readonly onMessage: (inbound: Inbound) => void;
}

const READ_SIZE = 65536;

/** A TCP connection, inbound or outbound; writes are queued so messages never interleave. */
export class TcpConnection {
  readonly remote: Peer;
  readonly iface: Role;
  readonly local: SocketAddress;
  #conn: Deno.TcpConn;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #onClose: (c: TcpConnection) => void;
  lastActivity = performance.now();

  constructor(
    conn: Deno.TcpConn,
    where: { iface: Role; local: SocketAddress },
    onClose: (c: TcpConnection) => void,
  ) {
    this.#conn = conn;
    const addr = conn.remoteAddr;
    this.remote = { host: addr.hostname, port: addr.port };
    this.iface = where.iface;
    this.local = where.local;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues bytes for writing; a failed write closes the connection. */
  write(bytes: Uint8Array): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    this.lastActivity = performance.now();
    const done = this.#writing.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    });
    this.#writing = done.catch(() => {});
    return done.then(() => true, (err) => {
      log.warn("TCP write to {peer} failed: {err}", { peer: peerKey(this.remote), err: `${err}` });
      this.close();
      return false;
    });
  }

  /** Reads until EOF, framing messages by Content-Length (required on TCP, RFC 3261 §18.3). */
  async readLoop(deliver: (data: Uint8Array) => void): Promise<void> {
    const framer = new StreamFramer();
    const buf = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.lastActivity = performance.now();
        for (const item of framer.push(buf.subarray(0, n))) {
          if (item.ok) deliver(item.message);
          else {
            log.warn("Closing TCP connection from {peer}: {error}", {
              peer: peerKey(this.remote),
              error: item.error,
            });
            return;
          }
        }
      }
    } catch (err) {
      if (!this.#closed) {
        log.debug("TCP read from {peer} ended: {err}", {
          peer: peerKey(this.remote),
          err: `${err}`,
        });
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by the peer */ }
    this.#onClose(this);
  }
}

/** "host:port", the key for connection lookups and log lines. */
export function peerKey(peer: Peer): string {
  return peer.host.includes(":") ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`;
}

/** Owns every SIP socket of the process. */
export class Transport {
  #options: TransportOptions;
  #udp = new Map<Role, { socket: Deno.DatagramConn; address: SocketAddress }>();
  #listeners: (Deno.Listener | Deno.DatagramConn)[] = [];
  /** Live TCP connections by remote "host:port" (inbound and outbound alike). */
  #connections = new Map<string, TcpConnection>();
  #connecting = new Map<string, Promise<TcpConnection | undefined>>();
  #loops: Promise<void>[] = [];
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  /** Binds every socket; throws (at startup only) naming the first one that cannot be bound. */
  start(): void {
    for (const { iface, address } of this.#options.sockets) {
      const { host: hostname, port } = address;
      if (address.proto === "udp") {
        let socket: Deno.DatagramConn;
        try {
          socket = Deno.listenDatagram({ transport: "udp", hostname, port });
        } catch (err) {
          throw bindError(address, err);
        }
        this.#listeners.push(socket);
        if (!this.#udp.has(iface)) this.#udp.set(iface, { socket, address });
        this.#loops.push(this.#udpLoop(socket, iface, address));
      } else {
        let listener: Deno.Listener;
        try {
          listener = Deno.listen({ transport: "tcp", hostname, port });
        } catch (err) {
          throw bindError(address, err);
        }
        this.#listeners.push(listener);
        this.#loops.push(this.#acceptLoop(listener, iface, address));
      }
    }
    const idle = this.#options.tcpIdleTimeout;
    this.#sweep = setInterval(() => {
      const cutoff = performance.now() - idle;
      for (const c of this.#connections.values()) if (c.lastActivity < cutoff) c.close();
    }, Math.min(idle, 5000));
  }

  /** Whether this interface can send over this transport. */
  has(iface: Role, proto: SipProto): boolean {
    return this.#options.sockets.some((s) => s.iface === iface && s.address.proto === proto);
  }

  /** The local socket address used to send on an interface over a transport. */
  localAddress(iface: Role, proto: SipProto): SocketAddress | undefined {
    return this.#options.sockets.find((s) => s.iface === iface && s.address.proto === proto)
      ?.address;
  }

  /**
   * Sends bytes; over TCP it reuses `connection` or a live one to `dest`, else connects.
   * Resolves false when the message could not be sent (the caller answers 503 or drops).
   */
  async send(
    iface: Role,
    proto: SipProto,
    dest: Peer,
    bytes: Uint8Array,
    connection?: TcpConnection,
  ): Promise<boolean> {
    if (this.#closed) return false;
    if (proto === "udp") {
      const udp = this.#udp.get(iface);
      if (!udp) return false;
      try {
        await udp.socket.send(bytes, { transport: "udp", hostname: dest.host, port: dest.port });
        return true;
      } catch (err) {
        log.warn("UDP send to {peer} failed: {err}", { peer: peerKey(dest), err: `${err}` });
        return false;
      }
    }
    let conn = connection && !connection.closed ? connection : this.#connections.get(peerKey(dest));
    if (!conn) conn = await this.#connect(iface, dest);
    return conn ? conn.write(bytes) : false;
  }

  #connect(iface: Role, dest: Peer): Promise<TcpConnection | undefined> {
    const key = peerKey(dest);
    const pending = this.#connecting.get(key);
    if (pending) return pending;
    const local = this.localAddress(iface, "tcp") ?? this.localAddress(iface, "udp");
    if (!local) return Promise.resolve(undefined);
    const attempt = (async () => {
      try {
        const raw = await Deno.connect({ transport: "tcp", hostname: dest.host, port: dest.port });
        return this.#adopt(raw, iface, local);
      } catch (err) {
        log.warn("TCP connect to {peer} failed: {err}", { peer: key, err: `${err}` });
        return undefined;
      } finally {
        this.#connecting.delete(key);
      }
    })();
    this.#connecting.set(key, attempt);
    return attempt;
  }

  #adopt(raw: Deno.TcpConn, iface: Role, local: SocketAddress): TcpConnection {
    raw.setNoDelay(true);
    const conn = new TcpConnection(raw, { iface, local }, (c) => {
      const key = peerKey(c.remote);
      if (this.#connections.get(key) === c) this.#connections.delete(key);
    });
    this.#connections.set(peerKey(conn.remote), conn);
    this.#loops.push(
      conn.readLoop((data) =>
        this.#deliver({ data, source: conn.remote, iface, proto: "tcp", local, connection: conn })
      ),
    );
    return conn;
  }

  async #acceptLoop(listener: Deno.Listener, iface: Role, local: SocketAddress): Promise<void> {
    try {
      for await (const raw of listener) {
        if (this.#closed) {
          raw.close();
          break;
        }
        this.#adopt(raw as Deno.TcpConn, iface, local);
      }
    } catch (err) {
      if (!this.#closed) {
        log.error("TCP listener {addr} failed: {err}", { addr: local.host, err: `${err}` });
      }
    }
  }

  async #udpLoop(socket: Deno.DatagramConn, iface: Role, local: SocketAddress): Promise<void> {
    // One buffer per socket: Deno's default allocates 64 KiB per datagram, which fed the GC
    // pauses that overflowed the socket under load. Safe because the core parses each datagram
    // (copying it into a string) before the next receive.
    const buffer = new Uint8Array(65536);
    for (;;) {
      let packet: [Uint8Array, Deno.Addr];
      try {
        packet = await socket.receive(buffer);
      } catch (err) {
        if (this.#closed) return;
        // ICMP errors surface here on Linux; the socket itself is still usable.
        log.debug("UDP receive on {addr} failed: {err}", { addr: local.host, err: `${err}` });
        continue;
      }
      const addr = packet[1] as Deno.NetAddr;
      this.#deliver({
        data: packet[0],
        source: { host: addr.hostname, port: addr.port },
        iface,
        proto: "udp",
        local,
        connection: undefined,
      });
    }
  }

  #deliver(inbound: Inbound): void {
    try {
      this.#options.onMessage(inbound);
    } catch (err) {
      // A bug in a handler must never stop the receive loop.
      log.error("Cannot handle message from {peer}: {err}", {
        peer: peerKey(inbound.source),
        err: err instanceof Error ? err.stack ?? err.message : `${err}`,
      });
    }
  }

  /** Counts for the admin API. */
  stats(): { tcpConnections: number } {
    return { tcpConnections: this.#connections.size };
  }

  /** Closes every socket and connection and waits for the loops to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    for (const l of this.#listeners) l.close();
    for (const c of [...this.#connections.values()]) c.close();
    await Promise.allSettled(this.#loops);
  }
}
