import assert from "node:assert/strict";
import { fittingPorts, raiseFileLimit } from "../../rtp/packet/file_limit.ts";

Deno.test("raiseFileLimit() leaves the soft limit at the hard one", () => {
  const limit = raiseFileLimit();
  assert.ok(limit, "the limits can be read here (Linux, FFI)");
  assert.equal(limit.soft, limit.hard);
});

Deno.test("fittingPorts() keeps a range that fits and cuts one that does not to even pairs", () => {
  const budget = { limit: 20000, reserve: 4352, addresses: 2 };
  assert.deepEqual(fittingPorts([30000, 30199], budget), [30000, 30199]);
  assert.deepEqual(fittingPorts([10000, 20000], budget), [10000, 17823]);
  assert.deepEqual(fittingPorts([10000, 20000], { ...budget, limit: 1000 }), [10000, 10001]);
});
