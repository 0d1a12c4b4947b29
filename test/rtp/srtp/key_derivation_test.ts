import assert from "node:assert/strict";
import { deriveSessionKeys } from "../../../rtp/srtp/key_derivation.ts";
import { testKey, toHex } from "./_packets.ts";

Deno.test("deriveSessionKeys() matches RFC 3711 B.3", () => {
  const { srtp } = deriveSessionKeys(testKey());
  assert.equal(toHex(srtp.cipherKey), "c61e7a93744f39ee10734afe3ff7a087");
  assert.equal(toHex(srtp.salt), "30cbbc08863d8c85d49db34a9ae1");
  assert.equal(toHex(srtp.authKey), "cebe321f6ff7716b6fd4ab49af256a156d38baa4");
});

Deno.test("deriveSessionKeys() gives SRTCP keys of their own (labels 3 to 5)", () => {
  const { srtp, srtcp } = deriveSessionKeys(testKey());
  assert.equal(srtcp.cipherKey.length, 16);
  assert.equal(srtcp.authKey.length, 20);
  assert.equal(srtcp.salt.length, 14);
  assert.notEqual(toHex(srtcp.cipherKey), toHex(srtp.cipherKey));
  assert.notEqual(toHex(srtcp.authKey), toHex(srtp.authKey));
  assert.notEqual(toHex(srtcp.salt), toHex(srtp.salt));
});
