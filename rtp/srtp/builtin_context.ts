/**
 * The `builtin` SRTP backend: RFC 3711's default transforms in TypeScript, AES from node:crypto
 * (rtp/srtp/aes_cm.ts) and HMAC-SHA1 in TypeScript (rtp/srtp/hmac_sha1.ts), over the packet
 * logic of rtp/srtp/_rfc3711_context.ts. Needs no permission and no library. Per packet it
 * allocates only what node:crypto's cipher returns.
 *
 * @module
 */

import { AesCm } from "./aes_cm.ts";
import { SRTP_BACKEND, type SrtpContextOptions } from "./context.ts";
import { HmacSha1 } from "./hmac_sha1.ts";
import { Rfc3711Context, type SrtpPrimitives } from "./_rfc3711_context.ts";
import type { MasterKey } from "./suite.ts";

const BUILTIN: SrtpPrimitives = {
  backend: SRTP_BACKEND.builtin,
  cipher: (key, salt) => new AesCm(key, salt),
  auth: (key) => new HmacSha1(key),
};

/** A crypto context over node:crypto and TypeScript (see rtp/srtp/context.ts). */
export class BuiltinSrtpContext extends Rfc3711Context {
  constructor(master: MasterKey, options: SrtpContextOptions) {
    super(master, options, BUILTIN);
  }
}
