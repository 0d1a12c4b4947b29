/**
 * The part of libsrtp2 the `libsrtp` backend (rtp/srtp/libsrtp_context.ts) calls: the symbol
 * table, the `srtp_policy_t` layout and the status codes, from libsrtp 2.5.0's
 * `/usr/include/srtp2/srtp.h` (LP64: x86_64 and aarch64). The library is opened on first use,
 * only with `--allow-ffi`, its version checked (the layout is only known for 2.5) and
 * `srtp_init` run once; it then stays loaded for the life of the process.
 *
 * Only the runtime package is needed: Debian's libsrtp2-1 (`libsrtp2.so.1`).
 *
 * @module
 */

import { FfiLibrary } from "./_ffi_library.ts";

export const LIBRARY = "libsrtp2.so.1";
export const PACKAGE = "libsrtp2-1";

/** `srtp_err_status_t` values the backend tells apart. */
export const STATUS = {
  ok: 0,
  badParam: 2,
  authFail: 7,
  replayFail: 9,
  replayOld: 10,
  parseErr: 21,
} as const;

/** `srtp_profile_t`. */
export const PROFILE = { aes128CmSha1_80: 1, aes128CmSha1_32: 2 } as const;

/** `srtp_ssrc_type_t`. */
export const SSRC_TYPE = { anyInbound: 2, anyOutbound: 3 } as const;

/** `srtp_policy_t` (128 bytes) field offsets, checked with offsetof against srtp.h 2.5.0. */
export const POLICY = {
  size: 128,
  ssrcType: 0,
  ssrcValue: 4,
  /** `srtp_crypto_policy_t rtp`, 24 bytes. */
  rtp: 8,
  /** `srtp_crypto_policy_t rtcp`, 24 bytes. */
  rtcp: 32,
  /** `unsigned char *key`: master key then salt. */
  key: 56,
  windowSize: 88,
  allowRepeatTx: 96,
} as const;
export const CRYPTO_POLICY_SIZE = 24;

/**
 * srtp.h: `srtp_protect` may write up to SRTP_MAX_TRAILER_LEN (144: tag plus MKI) bytes past the
 * packet and `srtp_protect_rtcp` 4 more; both expect the packet 32-bit aligned.
 */
export const MAX_TRAILER = 144 + 4;

const SYMBOLS = {
  srtp_init: { parameters: [], result: "i32" },
  srtp_get_version: { parameters: [], result: "u32" },
  srtp_crypto_policy_set_from_profile_for_rtp: { parameters: ["buffer", "i32"], result: "i32" },
  srtp_crypto_policy_set_from_profile_for_rtcp: { parameters: ["buffer", "i32"], result: "i32" },
  srtp_create: { parameters: ["buffer", "buffer"], result: "i32" },
  srtp_dealloc: { parameters: ["pointer"], result: "i32" },
  srtp_remove_stream: { parameters: ["pointer", "u32"], result: "i32" },
  srtp_protect: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_unprotect: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_protect_rtcp: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_unprotect_rtcp: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
} as const;

export type Libsrtp = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const LIBSRTP = new FfiLibrary({
  file: LIBRARY,
  package: PACKAGE,
  symbols: SYMBOLS,
  check: (lib) => {
    // srtp_get_version: major << 24 | minor << 16 | micro.
    const version = lib.srtp_get_version();
    if (version >>> 16 !== 0x0205) {
      const text = `${version >>> 24}.${(version >>> 16) & 0xff}.${version & 0xffff}`;
      return `version "${text}" is not 2.5.x, whose srtp_policy_t layout this code knows`;
    }
    const status = lib.srtp_init();
    return status === STATUS.ok ? undefined : `srtp_init failed with status ${status}`;
  },
});

/** libsrtp, opened and initialised; throws an Error saying what is missing when it cannot be. */
export function openLibsrtp(): Libsrtp {
  return LIBSRTP.open();
}

/** libsrtp can be used here (permission, library and version). */
export function libsrtpAvailable(): boolean {
  return LIBSRTP.available();
}
