import assert from "node:assert/strict";
import { AesCm } from "../../../rtp/srtp/aes_cm.ts";
import { LibcryptoAesCm } from "../../../rtp/srtp/libcrypto_aes_cm.ts";
import { hex, toHex } from "./_packets.ts";

// The builtin primitive and its libcrypto twin (needs --allow-ffi and libssl3) owe the same.
for (const [name, Impl] of [["AesCm", AesCm], ["LibcryptoAesCm", LibcryptoAesCm]] as const) {
  Deno.test(`${name}.xor() produces the RFC 3711 B.2 keystream`, () => {
    // B.2: session key and salt given; SSRC and index both zero, so the IV is the salt · 2^16.
    const aes = new Impl(
      hex("2B7E151628AED2A6ABF7158809CF4F3C"),
      hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
    );
    const keystream = new Uint8Array(48);
    aes.xor(keystream, 0, 48, 0, 0);
    assert.equal(
      toHex(keystream),
      [
        "E03EAD0935C95E80E166B16DD92B4EB4",
        "D23513162B02D0F72A43A2FE4A5F97AB",
        "41E95B3BB0A2E8DD477901E4FCA894C0",
      ].join("").toLowerCase(),
    );
  });

  Deno.test(`${name}.xor() is its own inverse and works on a slice of the buffer`, () => {
    const aes = new Impl(new Uint8Array(16).fill(1), new Uint8Array(14).fill(2));
    const plain = Uint8Array.from({ length: 100 }, (_, i) => i);
    const buf = plain.slice();
    aes.xor(buf, 12, 95, 0x12345678, 2 ** 40 + 7);
    assert.deepEqual(buf.subarray(0, 12), plain.subarray(0, 12));
    assert.deepEqual(buf.subarray(95), plain.subarray(95));
    assert.notDeepEqual(buf.subarray(12, 95), plain.subarray(12, 95));
    aes.xor(buf, 12, 95, 0x12345678, 2 ** 40 + 7);
    assert.deepEqual(buf, plain);
  });

  Deno.test(`${name}.xor() gives another keystream for another SSRC or index`, () => {
    const aes = new Impl(new Uint8Array(16).fill(1), new Uint8Array(14).fill(2));
    const streams = [[1, 0], [2, 0], [1, 1], [1, 2 ** 32]].map(([ssrc, index]) => {
      const b = new Uint8Array(16);
      aes.xor(b, 0, 16, ssrc!, index!);
      return toHex(b);
    });
    assert.equal(new Set(streams).size, streams.length);
  });

  Deno.test(`new ${name}() refuses a key or salt of the wrong size`, () => {
    assert.throws(() => new Impl(new Uint8Array(15), new Uint8Array(14)), RangeError);
    assert.throws(() => new Impl(new Uint8Array(16), new Uint8Array(16)), RangeError);
  });
}
