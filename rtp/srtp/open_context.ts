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
  /** Backend to use when it can run; default `libsrtp` (the faster one, bench/srtp_bench.ts). */
  readonly prefer?: SrtpBackendName;
}

/**
 * A crypto context for `master`: libsrtp when preferred and loadable (needs `--allow-ffi` and
 * libsrtp2-1), else the builtin backend, which always works.
 */
export function openSrtpContext(master: MasterKey, options: OpenSrtpContextOptions): SrtpContext {
  if ((options.prefer ?? SRTP_BACKEND.libsrtp) === SRTP_BACKEND.libsrtp && libsrtpAvailable()) {
    return new LibsrtpContext(master, options);
  }
  return new BuiltinSrtpContext(master, options);
}
