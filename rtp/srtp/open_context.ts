/**
 * The choice between the two SRTP backends (rtp/srtp/context.ts), made per context.
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
import { libsrtpAvailable } from "./_libsrtp.ts";
import { LibsrtpContext } from "./libsrtp_context.ts";
import type { MasterKey } from "./suite.ts";

export interface OpenSrtpContextOptions extends SrtpContextOptions {
  /**
   * Backend to use when it can run; default `builtin`. libsrtp is faster with a few contexts
   * (bench/srtp_bench.ts: 8 µs against 10 per protect and unprotect), but Debian's is built on
   * NSS, and its cost grows with the contexts open: 44 µs at 1,000, 139 µs at 4,000, where the
   * builtin one stays at 11-20 µs (measured for docs/benchmarks.md). A relay holds two per
   * SRTP leg.
   */
  readonly prefer?: SrtpBackendName;
}

/**
 * A crypto context for `master`: libsrtp when preferred and loadable (needs `--allow-ffi` and
 * libsrtp2-1), else the builtin backend, which always works.
 */
export function openSrtpContext(master: MasterKey, options: OpenSrtpContextOptions): SrtpContext {
  if ((options.prefer ?? SRTP_BACKEND.builtin) === SRTP_BACKEND.libsrtp && libsrtpAvailable()) {
    return new LibsrtpContext(master, options);
  }
  return new BuiltinSrtpContext(master, options);
}
