import assert from "node:assert/strict";
import {
  formatCrypto,
  newMasterKey,
  parseCrypto,
  SDES_ERROR,
  type SdesCrypto,
} from "../../../rtp/srtp/sdes.ts";
import { SRTP_SUITE } from "../../../rtp/srtp/suite.ts";
import { toHex } from "./_packets.ts";

// The key of RFC 4568's examples (40 base64 characters: 30 bytes).
const KEY = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

function parsed(value: string): SdesCrypto {
  const r = parseCrypto(value);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function errorCode(value: string): string {
  const r = parseCrypto(value);
  assert.ok(!r.ok, `"${value}" should be refused`);
  return r.error.code;
}

Deno.test("parseCrypto() reads tag, suite, key and salt", () => {
  const c = parsed(`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`);
  assert.equal(c.tag, 1);
  assert.equal(c.suite, SRTP_SUITE.AES_CM_128_HMAC_SHA1_80);
  assert.equal(c.master.key.length, 16);
  assert.equal(c.master.salt.length, 14);
  const bytes = Uint8Array.from(atob(KEY), (ch) => ch.charCodeAt(0));
  assert.equal(toHex(c.master.key) + toHex(c.master.salt), toHex(bytes));
  assert.equal(c.lifetime, undefined);
  assert.deepEqual(c.sessionParams, []);
});

Deno.test("parseCrypto() takes the _32 suite, a lifetime and ignorable parameters", async (t) => {
  await t.step("power-of-two lifetime", () => {
    const c = parsed(`2 AES_CM_128_HMAC_SHA1_32 inline:${KEY}|2^20`);
    assert.equal(c.suite, SRTP_SUITE.AES_CM_128_HMAC_SHA1_32);
    assert.equal(c.lifetime, 2 ** 20);
  });
  await t.step("decimal lifetime", () => {
    assert.equal(parsed(`3 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|1048576`).lifetime, 1048576);
  });
  await t.step("case-insensitive key method, WSH and an optional parameter", () => {
    const c = parsed(`4 AES_CM_128_HMAC_SHA1_80 INLINE:${KEY} WSH=128 -FUTURE=1`);
    assert.deepEqual(c.sessionParams, ["WSH=128", "-FUTURE=1"]);
  });
  await t.step("surrounding white space", () => {
    assert.equal(parsed(`  123456789 AES_CM_128_HMAC_SHA1_80 inline:${KEY}\r\n`).tag, 123456789);
  });
});

Deno.test("parseCrypto() refuses what edgesbc cannot run", async (t) => {
  const cases: [string, string, string][] = [
    ["no tag", `AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, SDES_ERROR.syntax],
    ["tag of 10 digits", `1234567890 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, SDES_ERROR.syntax],
    ["no key", "1 AES_CM_128_HMAC_SHA1_80", SDES_ERROR.syntax],
    ["unknown suite", `1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}`, SDES_ERROR.suite],
    ["AEAD suite", `1 AEAD_AES_128_GCM inline:${KEY}`, SDES_ERROR.suite],
    ["lower-case suite", `1 aes_cm_128_hmac_sha1_80 inline:${KEY}`, SDES_ERROR.suite],
    ["other key method", `1 AES_CM_128_HMAC_SHA1_80 uri:${KEY}`, SDES_ERROR.syntax],
    ["bad base64", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY.slice(0, 39)}!`, SDES_ERROR.key],
    ["key too short", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY.slice(0, 36)}`, SDES_ERROR.key],
    ["key too long", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}AAAA`, SDES_ERROR.key],
    ["MKI", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`, SDES_ERROR.mki],
    ["MKI without lifetime", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|1:4`, SDES_ERROR.mki],
    [
      "two keys",
      `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4;inline:${KEY}|2^20|2:4`,
      SDES_ERROR.mki,
    ],
    ["bad lifetime", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^x`, SDES_ERROR.syntax],
    ["lifetime over 2^48", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^49`, SDES_ERROR.syntax],
    ["KDR", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} KDR=1`, SDES_ERROR.param],
    [
      "unencrypted SRTP",
      `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} UNENCRYPTED_SRTP`,
      SDES_ERROR.param,
    ],
    ["unknown parameter", `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} FOO=1`, SDES_ERROR.param],
  ];
  for (const [name, value, code] of cases) {
    await t.step(name, () => assert.equal(errorCode(value), code));
  }
});

Deno.test("parseCrypto() never puts the key in its error message", () => {
  for (const value of [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|1:4`, `1 X inline:${KEY}`]) {
    const r = parseCrypto(value);
    assert.ok(!r.ok);
    assert.ok(!r.error.message.includes(KEY.slice(0, 8)), r.error.message);
  }
});

Deno.test("formatCrypto() writes what parseCrypto() reads", () => {
  const master = newMasterKey();
  const text = formatCrypto({
    tag: 7,
    suite: SRTP_SUITE.AES_CM_128_HMAC_SHA1_32,
    master,
    lifetime: 2 ** 31,
  });
  assert.match(text, /^7 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}\|2\^31$/);
  const back = parsed(text);
  assert.equal(toHex(back.master.key), toHex(master.key));
  assert.equal(toHex(back.master.salt), toHex(master.salt));
  assert.equal(back.lifetime, 2 ** 31);
  assert.equal(
    formatCrypto(parsed(`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`)),
    `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`,
  );
});

Deno.test("newMasterKey() returns a fresh 16-byte key and 14-byte salt each time", () => {
  const a = newMasterKey();
  const b = newMasterKey();
  assert.equal(a.key.length, 16);
  assert.equal(a.salt.length, 14);
  assert.notEqual(toHex(a.key), toHex(b.key));
});
