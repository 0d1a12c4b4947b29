/**
 * The bytes of one stream connection, whatever carries them: a Deno TCP connection as is, or a
 * node:tls socket (sbc/transport/node_socket_stream.ts), which is what TLS needs for client
 * certificates, a minimum version and reloading certificates without closing the listener.
 *
 * @module
 */

/** Read, write and close, as `Deno.Conn` has them. */
export interface ByteStream {
  /** Reads into `buffer`; null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes`; resolves with how many. */
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  readonly remoteAddr: Deno.Addr;
}
