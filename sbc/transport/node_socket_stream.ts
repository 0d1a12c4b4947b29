/**
 * A node:tls socket read the way `Deno.Conn` is: pull reads over the socket's pushed chunks, with
 * the socket paused while more than `HIGH_WATER` bytes wait, so a fast sender cannot fill memory
 * faster than SIP is parsed.
 *
 * @module
 */
import type { TLSSocket } from "node:tls";
import type { ByteStream } from "./byte_stream.ts";

const HIGH_WATER = 256 * 1024;

export class NodeSocketStream implements ByteStream {
  readonly remoteAddr: Deno.NetAddr;
  #socket: TLSSocket;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(socket: TLSSocket) {
    this.#socket = socket;
    this.remoteAddr = {
      transport: "tcp",
      hostname: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
    };
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.byteLength;
      if (this.#queued > HIGH_WATER) socket.pause();
      this.#notify();
    });
    const end = () => {
      this.#ended = true;
      this.#notify();
    };
    socket.on("end", end);
    socket.on("close", end);
    // The reader sees the end; the error itself is the peer's (a reset, a failed handshake).
    socket.on("error", end);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#chunks[0]!;
    const n = Math.min(buffer.byteLength, chunk.byteLength);
    buffer.set(chunk.subarray(0, n));
    if (n === chunk.byteLength) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#queued -= n;
    if (this.#queued <= HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#socket.destroyed) return reject(new Error("connection closed"));
      this.#socket.write(bytes, (err) => err ? reject(err) : resolve(bytes.byteLength));
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
