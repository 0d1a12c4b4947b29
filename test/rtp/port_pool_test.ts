import assert from "node:assert/strict";
import { PortPool } from "../../rtp/port_pool.ts";

Deno.test("PortPool allocates even RTP ports whose RTCP port stays in range", () => {
  const pool = new PortPool(10001, 10008);
  // Pairs: 10002/3, 10004/5, 10006/7 (10008/9 would exceed 10008).
  assert.equal(pool.free, 3);
  assert.deepEqual([pool.allocate(), pool.allocate(), pool.allocate()], [10002, 10004, 10006]);
  assert.equal(pool.allocate(), undefined);
  assert.equal(pool.inUse, 3);
  assert.equal(pool.free, 0);
});

Deno.test("PortPool reuses a released pair last (FIFO)", () => {
  const pool = new PortPool(20000, 20005);
  const a = pool.allocate()!;
  pool.release(a);
  assert.equal(pool.allocate(), 20002);
  assert.equal(pool.allocate(), 20004);
  assert.equal(pool.allocate(), a);
});

Deno.test("PortPool ignores double and foreign releases", () => {
  const pool = new PortPool(20000, 20003);
  const a = pool.allocate()!;
  pool.release(a);
  pool.release(a);
  pool.release(20001);
  pool.release(30000);
  assert.equal(pool.free, 2);
  assert.equal(pool.inUse, 0);
});

Deno.test("PortPool.markBad() takes a pair out of service for good", () => {
  const pool = new PortPool(20000, 20003);
  const a = pool.allocate()!;
  pool.markBad(a);
  assert.equal(pool.bad, 1);
  assert.equal(pool.inUse, 0);
  pool.release(a);
  assert.equal(pool.free, 1);
  assert.equal(pool.allocate(), 20002);
  assert.equal(pool.allocate(), undefined);
});

Deno.test("PortPool handles an empty range", () => {
  const pool = new PortPool(20001, 20001);
  assert.equal(pool.free, 0);
  assert.equal(pool.allocate(), undefined);
});
