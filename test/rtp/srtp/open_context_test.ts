import assert from "node:assert/strict";
import { SRTP_BACKEND, SRTP_DIRECTION } from "../../../rtp/srtp/context.ts";
import { openSrtpContext } from "../../../rtp/srtp/open_context.ts";
import { SRTP_SUITE } from "../../../rtp/srtp/suite.ts";
import { testKey } from "./_packets.ts";

const options = { suite: SRTP_SUITE.AES_CM_128_HMAC_SHA1_80, direction: SRTP_DIRECTION.inbound };

// First: libcrypto, once loaded, stays loaded for the process.
Deno.test({
  name: "openSrtpContext() falls back to builtin without FFI permission (the relay still works)",
  permissions: { ffi: false },
  fn() {
    const ctx = openSrtpContext(testKey(), options);
    assert.equal(ctx.backend, SRTP_BACKEND.builtin);
    ctx.close();
  },
});

Deno.test("openSrtpContext() picks the libcrypto backend by default (the fastest, allocation-free)", () => {
  const ctx = openSrtpContext(testKey(), options);
  assert.equal(ctx.backend, SRTP_BACKEND.libcrypto);
  ctx.close();
});

Deno.test("openSrtpContext() gives libsrtp when asked and it can load", () => {
  const ctx = openSrtpContext(testKey(), { ...options, prefer: SRTP_BACKEND.libsrtp });
  assert.equal(ctx.backend, SRTP_BACKEND.libsrtp);
  ctx.close();
});

Deno.test("openSrtpContext() gives builtin when asked", () => {
  const ctx = openSrtpContext(testKey(), { ...options, prefer: SRTP_BACKEND.builtin });
  assert.equal(ctx.backend, SRTP_BACKEND.builtin);
  ctx.close();
});
