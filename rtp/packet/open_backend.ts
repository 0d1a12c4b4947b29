/**
 * The choice between the two socket backends (rtp/packet/backend.ts), made once per relay.
 *
 * @module
 */

import { BACKEND, type BackendName, type DatagramBackend } from "./backend.ts";
import { DenoBackend } from "./deno_socket.ts";
import { ffiAvailable } from "./_libc.ts";
import { FfiBackend } from "./ffi_socket.ts";

/**
 * The fastest backend that can serve these media addresses: FFI when libc is loadable (needs
 * `--allow-ffi`) and every address is IPv4, else `Deno.listenDatagram`.
 */
export function openBackend(
  addresses: readonly string[],
  prefer: BackendName = BACKEND.ffi,
): DatagramBackend {
  if (prefer === BACKEND.ffi && ffiAvailable() && addresses.every(isIpv4)) {
    return new FfiBackend();
  }
  return new DenoBackend();
}

/** Dotted-quad IPv4 literal. */
export function isIpv4(host: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(host) &&
    host.split(".").every((b) => Number(b) <= 255);
}
