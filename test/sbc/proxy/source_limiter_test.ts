import assert from "node:assert/strict";
import { SourceLimiter } from "../../../sbc/proxy/source_limiter.ts";

Deno.test("SourceLimiter bans an address past its rate for the ban time, once, and lets others through", () => {
  const limiter = new SourceLimiter({ perSecond: 3, banMs: 10_000 });
  const seen = [0, 100, 200, 300, 400].map((t) => limiter.admit("192.0.2.9", t));
  assert.deepEqual(seen, ["ok", "ok", "ok", "new-ban", "banned"]);
  assert.equal(limiter.admit("192.0.2.10", 400), "ok", "another address is not affected");
  assert.equal(limiter.bans(500), 1);
  assert.equal(limiter.admit("192.0.2.9", 10_299), "banned");
  assert.equal(limiter.admit("192.0.2.9", 10_301), "ok", "the ban ends");
  assert.equal(limiter.bans(10_301), 0);
});

Deno.test("SourceLimiter counts in one-second windows: a steady rate at the limit passes", () => {
  const limiter = new SourceLimiter({ perSecond: 200, banMs: 60_000 });
  for (let ms = 0; ms < 10_000; ms += 5) {
    assert.equal(limiter.admit("198.51.100.1", ms), "ok", `${ms}`);
  }
});

Deno.test("SourceLimiter stays bounded under a flood of sources", () => {
  const limiter = new SourceLimiter({ perSecond: 10, banMs: 1000, maxSources: 100 });
  for (let i = 0; i < 10_000; i++) limiter.admit(`10.0.${i >> 8}.${i & 255}`, i * 20);
  assert.equal(limiter.admit("10.9.9.9", 300_000), "ok");
});
