/**
 * The choice between the SRTP backends (rtp/srtp/context.ts), made per context.
 *
 * @module
 */

import { BuiltinSrtpContext } from "./builtin_context.ts";
import {
  SRTP_BACKEND,
  type SrtpBackendName,
  type SrtpContext,
  type SrtpContextOptions,
} from "./context.ts";
import { libcryptoAvailable } from "./_libcrypto.ts";
import { LibcryptoSrtpContext } from "./libcrypto_context.ts";
import { libsrtpAvailable } from "./_libsrtp.ts";
import { LibsrtpContext } from "./libsrtp_context.ts";
import type { MasterKey } from "./suite.ts";

export interface OpenSrtpContextOptions extends SrtpContextOptions {
  /**
   * Backend to use when it can run; default `libcrypto`, the fastest (bench/srtp_bench.ts, one
   * protect and one unprotect of a 172-byte packet: libcrypto 2.2 µs, libsrtp 11.6, builtin
   * 13.4) and allocation-free per packet. Debian's libsrtp is built on NSS, and its cost grows
   * with the contexts open: 44 µs at 1,000, 139 µs at 4,000, where the builtin one stays at
   * 11-20 µs (measured for docs/benchmarks.md). A relay holds two per SRTP leg.
   */
  readonly prefer?: SrtpBackendName;
}

/**
 * A crypto context for `master`: the preferred backend when it loads, else libcrypto when it
 * loads (needs `--allow-ffi` and libssl3), else the builtin backend, which always works.
 */
export function openSrtpContext(master: MasterKey, options: OpenSrtpContextOptions): SrtpContext {
  const prefer = options.prefer ?? SRTP_BACKEND.libcrypto;
  if (prefer === SRTP_BACKEND.libsrtp && libsrtpAvailable()) {
    return new LibsrtpContext(master, options);
  }
  if (prefer !== SRTP_BACKEND.builtin && libcryptoAvailable()) {
    return new LibcryptoSrtpContext(master, options);
  }
  return new BuiltinSrtpContext(master, options);
}
