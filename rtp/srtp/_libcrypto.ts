/**
 * The part of OpenSSL's libcrypto the `libcrypto` SRTP backend (rtp/srtp/libcrypto_context.ts)
 * calls: AES-128-CTR through an `EVP_CIPHER_CTX` and the SHA-1 block functions on a `SHA_CTX`
 * kept in a JS buffer. The library is opened on first use, only with `--allow-ffi`, its major
 * version checked (3), and then stays loaded for the life of the process.
 *
 * Debian's libssl3 (`libcrypto.so.3`) is always there: Deno and OpenSSH depend on it.
 *
 * @module
 */

import { FfiLibrary } from "./_ffi_library.ts";

export const LIBRARY = "libcrypto.so.3";
export const PACKAGE = "libssl3";

/**
 * `SHA_CTX` (openssl/sha.h): h0…h4, Nl, Nh, data[16], num, all 32-bit: 96 bytes, the same since
 * OpenSSL 0.9.7. The state is h0…h4 in host order at offset 0.
 */
export const SHA_CTX_SIZE = 96;

const SYMBOLS = {
  OpenSSL_version_num: { parameters: [], result: "u64" },
  EVP_aes_128_ctr: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  /** (ctx, cipher, engine, key, iv); NULL cipher and key keep them and set only the IV. */
  EVP_EncryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  /** (ctx, out, &outl, in, inl); in and out may be the same buffer. */
  EVP_EncryptUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  SHA1_Init: { parameters: ["buffer"], result: "i32" },
  SHA1_Update: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  /** (md, ctx): writes the 20-byte digest, big-endian, to md. */
  SHA1_Final: { parameters: ["buffer", "buffer"], result: "i32" },
  /** (ctx, block): compresses one 64-byte block into the state, no padding. */
  SHA1_Transform: { parameters: ["buffer", "buffer"], result: "void" },
} as const;

export type Libcrypto = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const LIBCRYPTO = new FfiLibrary({
  file: LIBRARY,
  package: PACKAGE,
  symbols: SYMBOLS,
  // OPENSSL_VERSION_NUMBER: 0xMNN00PP0L.
  check: (lib) => {
    const version = Number(lib.OpenSSL_version_num());
    return Math.floor(version / 0x10000000) === 3
      ? undefined
      : `version "${version.toString(16)}" is not 3.x`;
  },
});

/** libcrypto, opened; throws an Error saying what is missing when it cannot be. */
export function openLibcrypto(): Libcrypto {
  return LIBCRYPTO.open();
}

/** libcrypto can be used here (permission, library and version). */
export function libcryptoAvailable(): boolean {
  return LIBCRYPTO.available();
}
