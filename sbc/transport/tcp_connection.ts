/**
 * One SIP stream connection, TCP or TLS, inbound or outbound: queued writes, and a read loop that
 * frames messages by Content-Length (RFC 3261 §18.3).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Side, SipProto, SocketAddress } from "../../config/config.ts";
import type { ByteStream } from "./byte_stream.ts";
import { type Peer, peerKey } from "./peer.ts";
import { StreamFramer } from "./tcp_framing.ts";

const log = getLogger(["edgesbc", "transport"]);

const READ_SIZE = 65536;

/**
 * Bytes waiting to be written on one connection, at most (Kamailio's `tcp_conn_wq_max`): a peer
 * that stops reading would otherwise have every answer to it held in memory.
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

/** A TCP or TLS connection, inbound or outbound; writes are queued so messages never interleave. */
export class TcpConnection {
  readonly remote: Peer;
  readonly side: Side;
  readonly local: SocketAddress;
  /** "tcp" or "tls". */
  readonly proto: SipProto;
  #conn: ByteStream;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #onClose: (c: TcpConnection) => void;
  lastActivity = performance.now();
  /** Since when (performance.now()) part of a message has waited for its rest; undefined: none. */
  partialSince: number | undefined;
  /** Since when the oldest queued write has waited; undefined: nothing queued. */
  writingSince: number | undefined;
  #queued = 0;
  #writeFailed = false;

  constructor(
    conn: ByteStream,
    where: { side: Side; local: SocketAddress; proto: SipProto },
    onClose: (c: TcpConnection) => void,
  ) {
    this.#conn = conn;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.remote = { host: addr.hostname, port: addr.port };
    this.side = where.side;
    this.local = where.local;
    this.proto = where.proto;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues bytes for writing; a failed write, or more than `MAX_QUEUED_BYTES` waiting, closes the
   * connection. Only a finished write counts as activity: a peer that stops reading is not idle
   * traffic but a stalled connection (the sweep closes it by `writingSince`).
   */
  write(bytes: Uint8Array): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#queued + bytes.length > MAX_QUEUED_BYTES) {
      log.warn("Closing {proto} connection to {peer}: {bytes} bytes wait to be written", {
        proto: this.proto.toUpperCase(),
        peer: peerKey(this.remote),
        bytes: this.#queued,
      });
      this.close();
      return Promise.resolve(false);
    }
    this.#queued += bytes.length;
    this.writingSince ??= performance.now();
    const done = this.#writing.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    });
    this.#writing = done.catch(() => {});
    return done.then(() => {
      this.#queued -= bytes.length;
      this.lastActivity = performance.now();
      this.writingSince = this.#queued > 0 ? this.lastActivity : undefined;
      return true;
    }, (err) => {
      this.#queued -= bytes.length;
      // One line per connection: every write queued behind the failed one fails too.
      if (!this.#writeFailed && !this.#closed) {
        log.warn("{proto} write to {peer} failed: {err}", {
          proto: this.proto.toUpperCase(),
          peer: peerKey(this.remote),
          err: `${err}`,
        });
      }
      this.#writeFailed = true;
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
        const items = framer.push(buf.subarray(0, n));
        // A message trickling in a byte at a time keeps the connection busy, not alive: the
        // deadline runs from its first byte (transport.ts sweeps).
        if (framer.pending === 0) this.partialSince = undefined;
        else this.partialSince ??= this.lastActivity;
        for (const item of items) {
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
