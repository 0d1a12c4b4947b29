/**
 * The `libcrypto` SRTP backend: the packet logic of rtp/srtp/_rfc3711_context.ts over OpenSSL's
 * AES-128-CTR (rtp/srtp/libcrypto_aes_cm.ts) and SHA-1 (rtp/srtp/libcrypto_hmac_sha1.ts) through
 * `Deno.dlopen`. Needs `--allow-ffi` and libcrypto.so.3 (Debian libssl3, always installed).
 * Allocates nothing per packet; session keys are derived as in the builtin backend.
 *
 * @module
 */

import { SRTP_BACKEND, type SrtpContextOptions } from "./context.ts";
import { LibcryptoAesCm } from "./libcrypto_aes_cm.ts";
import { LibcryptoHmacSha1 } from "./libcrypto_hmac_sha1.ts";
import { openLibcrypto } from "./_libcrypto.ts";
import { Rfc3711Context, type SrtpPrimitives } from "./_rfc3711_context.ts";
import type { MasterKey } from "./suite.ts";

const LIBCRYPTO: SrtpPrimitives = {
  backend: SRTP_BACKEND.libcrypto,
  cipher: (key, salt) => new LibcryptoAesCm(key, salt),
  auth: (key) => new LibcryptoHmacSha1(key),
};

/** A crypto context over OpenSSL's libcrypto (see rtp/srtp/context.ts). */
export class LibcryptoSrtpContext extends Rfc3711Context {
  /** Throws when libcrypto cannot be loaded (the message says what is missing). */
  constructor(master: MasterKey, options: SrtpContextOptions) {
    openLibcrypto();
    super(master, options, LIBCRYPTO);
  }
}
