/**
 * SIP transports: UDP sockets and TCP and TLS listeners/connections on both interfaces (RFC 3261
 * §18, §26.3.1). TCP is Deno's own; TLS is node:tls, for client certificates, a minimum version
 * and certificates swapped on a running listener.
 *
 * Bytes in, bytes out: this file knows nothing of SIP beyond TCP framing. Every received message
 * is handed to one callback with the interface, transport and source it came from.
 */
import { getLogger } from "@logtape/logtape";
import { connect as tlsConnect, createServer, type Server, type TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import type { Side, SipProto, SocketAddress } from "../../config/config.ts";
import type { TlsMaterial } from "../../config/tls_files.ts";
import { bindError } from "./bind_error.ts";
import type { ByteStream } from "./byte_stream.ts";
import { isIpLiteral } from "./destination.ts";
import { NodeSocketStream } from "./node_socket_stream.ts";
import { type Peer, peerKey } from "./peer.ts";
import { TcpConnection } from "./tcp_connection.ts";
import { clientOptions, secureContextOptions, serverOptions } from "./tls_options.ts";

const log = getLogger(["edgesbc", "transport"]);

/** One received message with where it came from. */
export interface Inbound {
  /** Valid only during the `onMessage` call: UDP receive buffers are reused. */
  readonly data: Uint8Array;
  readonly source: Peer;
  readonly side: Side;
  readonly proto: SipProto;
  /** The local socket it arrived on. */
  readonly local: SocketAddress;
  /** The TCP or TLS connection it arrived on; replies go back over it (RFC 3261 §18.2.2). */
  readonly connection: TcpConnection | undefined;
}

/** Where bytes go: interface, transport, address, and the TCP connection to prefer. */
export interface SendTarget {
  readonly side: Side;
  readonly proto: SipProto;
  readonly dest: Peer;
  readonly connection: TcpConnection | undefined;
  /** Only over a connection already up (a keepalive to a NATed phone: it cannot be dialled). */
  readonly existingOnly?: boolean;
  /** The host name `dest` was resolved from: SNI and the certificate check of a TLS server. */
  readonly serverName?: string;
}

export type Send = (target: SendTarget, bytes: Uint8Array) => Promise<boolean>;

export interface TransportOptions {
  readonly sockets: readonly { readonly side: Side; readonly address: SocketAddress }[];
  /** Milliseconds before an idle TCP connection is closed. */
  readonly tcpIdleTimeout: number;
  /** Milliseconds a begun message may take to arrive whole; default 10,000. */
  readonly tcpMessageTimeout?: number;
  /** TCP connections at most, in all and per remote address (inbound); defaults 4096 and 32. */
  readonly maxTcpConnections?: number;
  readonly maxTcpPerSource?: number;
  /** Remote addresses exempt from the per-address cap (a carrier's `trusted`). */
  readonly exempt?: (host: string) => boolean;
  /** Each side's certificates: for its `tls:` listeners and the TLS connections it opens. */
  readonly tls?: Partial<Record<Side, TlsMaterial>>;
  /**
   * Whether a new inbound connection from `host` is served at all (access lists, bans): asked
   * before any TLS work, so a refused source costs no handshake.
   */
  readonly admit?: (side: Side, host: string) => boolean;
}

/** A connection's key: the same host and port over TCP and TLS are two connections. */
function connectionKey(proto: SipProto, peer: Peer): string {
  return `${proto}:${peerKey(peer)}`;
}

/**
 * Outgoing connections being set up, at most, in all and to one host: where they go can be named
 * by a header from outside (a Record-Route), so a slow host must not tie up more.
 */
const MAX_CONNECTING = 256;
const MAX_CONNECTING_PER_HOST = 8;

/** How long an accept loop waits after an error (out of descriptors): it doubles to a second. */
const ACCEPT_BACKOFF_MS = [10, 20, 50, 100, 200, 500, 1000];

/** Owns every SIP socket of the process. */
export class Transport {
  #options: TransportOptions;
  #udp = new Map<Side, { socket: Deno.DatagramConn; address: SocketAddress }>();
  #listeners: (Deno.Listener | Deno.DatagramConn)[] = [];
  #tlsServers: { side: Side; server: Server }[] = [];
  #tls: Partial<Record<Side, TlsMaterial>>;
  /** Live TCP and TLS connections by "proto:host:port" (inbound and outbound alike). */
  #connections = new Map<string, TcpConnection>();
  #connecting = new Map<string, Promise<TcpConnection | undefined>>();
  /** Inbound TLS connections in their handshake: "host:port" to host. */
  #handshaking = new Map<string, string>();
  #loops: Promise<void>[] = [];
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #onMessage: (inbound: Inbound) => void = () => {};
  /** Inbound TCP connections closed at once: a cap was reached. */
  #refusedTcp = 0;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#tls = { ...options.tls };
  }

  /**
   * Binds every socket and hands each received message to `onMessage`; rejects (at startup only)
   * naming the first socket that cannot be bound.
   */
  async start(onMessage: (inbound: Inbound) => void): Promise<void> {
    this.#onMessage = onMessage;
    for (const { side, address } of this.#options.sockets) {
      const { host: hostname, port } = address;
      if (address.proto === "tls") {
        await this.#listenTls(side, address);
      } else if (address.proto === "udp") {
        let socket: Deno.DatagramConn;
        try {
          socket = Deno.listenDatagram({ transport: "udp", hostname, port });
        } catch (err) {
          throw bindError(address, err);
        }
        this.#listeners.push(socket);
        if (!this.#udp.has(side)) this.#udp.set(side, { socket, address });
        this.#loops.push(this.#udpLoop(socket, side, address));
      } else {
        let listener: Deno.Listener;
        try {
          listener = Deno.listen({ transport: "tcp", hostname, port });
        } catch (err) {
          throw bindError(address, err);
        }
        this.#listeners.push(listener);
        this.#loops.push(this.#acceptLoop(listener, side, address));
      }
    }
    const first = this.#options;
    this.#sweep = setInterval(() => {
      // Read each round: a reload may change them.
      const idle = this.#options.tcpIdleTimeout;
      const deadline = this.#options.tcpMessageTimeout ?? 10_000;
      const now = performance.now();
      for (const c of [...this.#connections.values()]) {
        if (c.lastActivity < now - idle) c.close();
        else if (c.writingSince !== undefined && c.writingSince < now - deadline) {
          // Kamailio's tcp_send_timeout: a peer that does not read what it is sent.
          log.warn("Closing {proto} connection to {peer}: nothing written for {ms} ms", {
            proto: c.proto.toUpperCase(),
            peer: peerKey(c.remote),
            ms: deadline,
          });
          c.close();
        } else if (c.partialSince !== undefined && c.partialSince < now - deadline) {
          log.warn("Closing TCP connection from {peer}: no whole message within {ms} ms", {
            peer: peerKey(c.remote),
            ms: deadline,
          });
          c.close();
        }
      }
    }, Math.min(first.tcpIdleTimeout, first.tcpMessageTimeout ?? 10_000, 1000));
  }

  /** A TLS listener: handshakes bounded like a message, admitted like a TCP connection. */
  async #listenTls(side: Side, address: SocketAddress): Promise<void> {
    const material = this.#tls[side];
    if (!material) {
      throw new Error(`${address.host}:${address.port}: no TLS certificate for ${side}`);
    }
    const server = createServer(
      serverOptions(material, this.#options.tcpMessageTimeout ?? 10_000),
      (socket) => {
        this.#handshaking.delete(`${socket.remoteAddress}:${socket.remotePort}`);
        if (this.#closed) return void socket.destroy();
        this.#adopt(new NodeSocketStream(socket), side, address, "tls");
      },
    );
    // Counted when the TCP connection arrives, before any handshake work is spent on it.
    server.on("connection", (socket: Socket) => {
      const host = socket.remoteAddress ?? "";
      if (this.#closed || !this.#admitted(side, host) || !this.#admitTcp({ hostname: host })) {
        return void socket.destroy();
      }
      const key = `${host}:${socket.remotePort}`;
      this.#handshaking.set(key, host);
      socket.once("close", () => this.#handshaking.delete(key));
    });
    server.on("tlsClientError", (err: Error, socket: TLSSocket) => {
      // Deno's node:tls reports a handshake timeout without closing the socket: close it here.
      socket.destroy();
      log.debug("TLS handshake from {peer} failed: {err}", {
        peer: `${socket.remoteAddress}:${socket.remotePort}`,
        err: `${err}`,
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(bindError(address, err)));
      server.listen(address.port, address.host, () => resolve());
    });
    server.on(
      "error",
      (err) => log.error("TLS listener {addr}: {err}", { addr: address.host, err: `${err}` }),
    );
    this.#tlsServers.push({ side, server });
  }

  /**
   * New certificates for a side: its listeners present them to new connections at once, and the
   * connections it opens from now on; connections already up keep theirs (none is dropped).
   */
  setTls(side: Side, material: TlsMaterial): void {
    this.#tls[side] = material;
    for (const s of this.#tlsServers) {
      if (s.side === side) s.server.setSecureContext(secureContextOptions(material));
    }
  }

  /** New connection timeouts and the per-address cap (a reload); sockets stay as they are. */
  setLimits(limits: {
    tcpIdleTimeout: number;
    tcpMessageTimeout: number;
    maxTcpPerSource: number;
  }): void {
    this.#options = { ...this.#options, ...limits };
  }

  /** Whether this interface can send over this transport. */
  has(side: Side, proto: SipProto): boolean {
    return this.#options.sockets.some((s) => s.side === side && s.address.proto === proto);
  }

  /** The local socket address used to send on an interface over a transport. */
  localAddress(side: Side, proto: SipProto): SocketAddress | undefined {
    return this.#options.sockets.find((s) => s.side === side && s.address.proto === proto)
      ?.address;
  }

  /**
   * Sends bytes; over TCP it reuses `connection` or a live one to `dest`, else connects.
   * Resolves false when the message could not be sent (the caller answers 503 or drops).
   */
  async send(target: SendTarget, bytes: Uint8Array): Promise<boolean> {
    const { side, proto, dest, connection } = target;
    if (this.#closed) return false;
    if (proto === "udp") {
      const udp = this.#udp.get(side);
      if (!udp) return false;
      try {
        await udp.socket.send(bytes, { transport: "udp", hostname: dest.host, port: dest.port });
        return true;
      } catch (err) {
        log.warn("UDP send to {peer} failed: {err}", { peer: peerKey(dest), err: `${err}` });
        return false;
      }
    }
    const usable = connection && !connection.closed && connection.proto === proto;
    let conn = usable ? connection : this.#connections.get(connectionKey(proto, dest));
    if (!conn && target.existingOnly) return false;
    if (!conn) conn = await this.#connect(side, proto, dest, target.serverName);
    return conn ? conn.write(bytes) : false;
  }

  #connect(
    side: Side,
    proto: SipProto,
    dest: Peer,
    serverName?: string,
  ): Promise<TcpConnection | undefined> {
    const key = connectionKey(proto, dest);
    const pending = this.#connecting.get(key);
    if (pending) return pending;
    let toHost = 0;
    for (const k of this.#connecting.keys()) if (k.startsWith(`${proto}:${dest.host}:`)) toHost++;
    if (this.#connecting.size >= MAX_CONNECTING || toHost >= MAX_CONNECTING_PER_HOST) {
      log.warn("Not connecting to {peer}: {n} connections are being set up already", {
        peer: peerKey(dest),
        n: this.#connecting.size,
      });
      return Promise.resolve(undefined);
    }
    const local = this.localAddress(side, proto) ?? this.localAddress(side, "tcp") ??
      this.localAddress(side, "udp");
    if (!local) return Promise.resolve(undefined);
    const attempt = (async () => {
      try {
        if (proto === "tls") {
          return this.#adopt(await this.#connectTls(side, dest, serverName), side, local, proto);
        }
        const raw = await Deno.connect({
          transport: "tcp",
          hostname: dest.host,
          port: dest.port,
          // Bounded like a TLS handshake: a host that never answers ties nothing up for long.
          signal: AbortSignal.timeout(this.#options.tcpMessageTimeout ?? 10_000),
        });
        raw.setNoDelay(true);
        return this.#adopt(raw, side, local, proto);
      } catch (err) {
        log.warn("{proto} connect to {peer} failed: {err}", {
          proto: proto.toUpperCase(),
          peer: peerKey(dest),
          err: `${err}`,
        });
        return undefined;
      } finally {
        this.#connecting.delete(key);
      }
    })();
    this.#connecting.set(key, attempt);
    return attempt;
  }

  /** Opens a TLS connection and waits for its handshake (the server's certificate verified). */
  async #connectTls(side: Side, dest: Peer, serverName?: string): Promise<NodeSocketStream> {
    const name = serverName ?? dest.host;
    const socket = tlsConnect({
      host: dest.host,
      port: dest.port,
      ...clientOptions(this.#tls[side], name, isIpLiteral(name)),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error("handshake timed out")),
          this.#options.tcpMessageTimeout ?? 10_000,
        );
        socket.once("secureConnect", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return new NodeSocketStream(socket);
  }

  #adopt(raw: ByteStream, side: Side, local: SocketAddress, proto: SipProto): TcpConnection {
    const conn = new TcpConnection(raw, { side, local, proto }, (c) => {
      const key = connectionKey(c.proto, c.remote);
      if (this.#connections.get(key) === c) this.#connections.delete(key);
    });
    this.#connections.set(connectionKey(proto, conn.remote), conn);
    this.#loops.push(
      conn.readLoop((data) =>
        this.#deliver({ data, source: conn.remote, side, proto, local, connection: conn })
      ),
    );
    return conn;
  }

  /**
   * Accepts until closed. An accept error (out of descriptors: EMFILE) never ends the loop: it
   * waits, longer each time up to a second, and accepts again once descriptors are free.
   */
  async #acceptLoop(listener: Deno.Listener, side: Side, local: SocketAddress): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      let raw: Deno.Conn;
      try {
        raw = await listener.accept();
      } catch (err) {
        if (this.#closed || err instanceof Deno.errors.BadResource) return;
        if (failures === 0) {
          log.error("TCP listener {addr} cannot accept: {err}; retrying", {
            addr: local.host,
            err: `${err}`,
          });
        }
        await new Promise((resolve) =>
          setTimeout(resolve, ACCEPT_BACKOFF_MS[Math.min(failures++, ACCEPT_BACKOFF_MS.length - 1)])
        );
        continue;
      }
      failures = 0;
      if (this.#closed) {
        raw.close();
        return;
      }
      const remote = raw.remoteAddr as Deno.NetAddr;
      if (!this.#admitted(side, remote.hostname) || !this.#admitTcp(remote)) {
        raw.close();
        continue;
      }
      (raw as Deno.TcpConn).setNoDelay(true);
      this.#adopt(raw, side, local, "tcp");
    }
  }

  #admitted(side: Side, host: string): boolean {
    return this.#options.admit?.(side, host) ?? true;
  }

  /** Room for one more inbound connection from `remote`: in all, and from its address. */
  #admitTcp(remote: Pick<Deno.NetAddr, "hostname">): boolean {
    const total = this.#options.maxTcpConnections ?? 4096;
    const perSource = this.#options.maxTcpPerSource ?? 32;
    let fromSource = 0;
    for (const c of this.#connections.values()) if (c.remote.host === remote.hostname) fromSource++;
    for (const host of this.#handshaking.values()) if (host === remote.hostname) fromSource++;
    const exempt = this.#options.exempt?.(remote.hostname) ?? false;
    const open = this.#connections.size + this.#handshaking.size;
    if (open < total && (exempt || fromSource < perSource)) return true;
    this.#refusedTcp++;
    return false;
  }

  async #udpLoop(socket: Deno.DatagramConn, side: Side, local: SocketAddress): Promise<void> {
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
        side,
        proto: "udp",
        local,
        connection: undefined,
      });
    }
  }

  #deliver(inbound: Inbound): void {
    try {
      this.#onMessage(inbound);
    } catch (err) {
      // A bug in a handler must never stop the receive loop.
      log.error("Cannot handle message from {peer}: {err}", {
        peer: peerKey(inbound.source),
        err: err instanceof Error ? err.stack ?? err.message : `${err}`,
      });
    }
  }

  /** Counts for the admin API. */
  stats(): { tcpConnections: number; tcpRefused: number } {
    return { tcpConnections: this.#connections.size, tcpRefused: this.#refusedTcp };
  }

  /** Closes every socket and connection and waits for the loops to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    for (const l of this.#listeners) l.close();
    for (const { server } of this.#tlsServers) server.close();
    for (const c of [...this.#connections.values()]) c.close();
    await Promise.allSettled(this.#loops);
  }
}
