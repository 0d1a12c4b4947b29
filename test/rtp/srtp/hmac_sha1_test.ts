import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { HmacSha1 } from "../../../rtp/srtp/hmac_sha1.ts";
import { LibcryptoHmacSha1 } from "../../../rtp/srtp/libcrypto_hmac_sha1.ts";
import { prng } from "../../kit/prng.ts";
import { toHex } from "./_packets.ts";

// The builtin primitive and its libcrypto twin (needs --allow-ffi and libssl3) owe the same.
for (
  const [name, Impl] of [["HmacSha1", HmacSha1], ["LibcryptoHmacSha1", LibcryptoHmacSha1]] as const
) {
  const text = (s: string) => new TextEncoder().encode(s);

  const mac = (key: Uint8Array, data: Uint8Array, trailer?: number): string => {
    const h = new Impl(key);
    h.compute(data, data.length, trailer);
    return toHex(h.digest());
  };

  Deno.test(`${name} matches the RFC 2202 test cases`, async (t) => {
    const cases: [string, Uint8Array, Uint8Array, string][] = [
      [
        "1",
        new Uint8Array(20).fill(0x0b),
        text("Hi There"),
        "b617318655057264e28bc0b6fb378c8ef146be00",
      ],
      [
        "2",
        text("Jefe"),
        text("what do ya want for nothing?"),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
      ],
      [
        "3",
        new Uint8Array(20).fill(0xaa),
        new Uint8Array(50).fill(0xdd),
        "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
      ],
      [
        "6 (key longer than a block)",
        new Uint8Array(80).fill(0xaa),
        text("Test Using Larger Than Block-Size Key - Hash Key First"),
        "aa4ae5e15272d00e95705637ce8a3b55ed402112",
      ],
    ];
    for (const [name, key, data, want] of cases) {
      await t.step(name, () => assert.equal(mac(key, data), want));
    }
  });

  Deno.test(`${name} agrees with node:crypto at every length around the block edges`, () => {
    const random = prng(2202);
    const key = Uint8Array.from({ length: 20 }, () => random() * 256);
    for (let len = 0; len <= 200; len++) {
      const data = Uint8Array.from({ length: len }, () => random() * 256);
      assert.equal(
        mac(key, data),
        createHmac("sha1", key).update(data).digest("hex"),
        `len ${len}`,
      );
      const roc = (random() * 2 ** 32) >>> 0;
      const withRoc = new Uint8Array(len + 4);
      withRoc.set(data);
      new DataView(withRoc.buffer).setUint32(len, roc);
      assert.equal(
        mac(key, data, roc),
        createHmac("sha1", key).update(withRoc).digest("hex"),
        `len ${len} + ROC`,
      );
    }
  });

  Deno.test(`${name}.write() and matches() use the leading bytes of the MAC`, () => {
    const h = new Impl(new Uint8Array(20).fill(0x0b));
    const data = text("Hi There");
    h.compute(data, data.length);
    const out = new Uint8Array(14);
    h.write(out, 4, 10);
    assert.equal(toHex(out.subarray(4)), "b617318655057264e28b");
    assert.ok(h.matches(out, 4, 10));
    out[13] = out[13]! ^ 1;
    assert.ok(!h.matches(out, 4, 10));
    assert.ok(h.matches(out, 4, 4));
  });
}
