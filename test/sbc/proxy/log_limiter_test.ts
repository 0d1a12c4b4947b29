import assert from "node:assert/strict";
import { LogLimiter } from "../../../sbc/proxy/log_limiter.ts";

Deno.test("LogLimiter writes its budget per window, then says how many it left out", () => {
  let now = 0;
  const limiter = new LogLimiter({ lines: 2, windowMs: 1000, now: () => now });
  const written: number[] = [];
  for (let i = 0; i < 5; i++) limiter.line((skipped) => written.push(skipped));
  assert.deepEqual(written, [0, 0]);
  now = 999;
  limiter.line((skipped) => written.push(skipped));
  assert.deepEqual(written, [0, 0]);
  now = 1000;
  limiter.line((skipped) => written.push(skipped));
  limiter.line((skipped) => written.push(skipped));
  assert.deepEqual(written, [0, 0, 4, 0]);
});
