import assert from "node:assert/strict";
import type { PbxTarget } from "../../../config/config.ts";
import { PbxPool } from "../../../sbc/proxy/pbx_pool.ts";

const target = (host: string, priority: number, weight = 1): PbxTarget => ({
  address: { proto: "udp", host, port: 5060 },
  priority,
  weight,
});
const A = target("10.0.0.10", 1, 2);
const B = target("10.0.0.11", 1, 1);
const C = target("10.0.0.12", 2);
const RULE = { failures: 3, successes: 2 };

Deno.test("PbxPool.order(): priority first, weighted by Call-ID inside a priority, the same for a retried call", () => {
  const pool = new PbxPool([A, B, C], RULE, 0);
  const firsts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const order = pool.order(`call-${i}@host`);
    assert.equal(order.length, 3);
    assert.equal(order[2], C, "priority 2 only after every priority 1 target");
    const first = order[0]!.address.host;
    firsts.set(first, (firsts.get(first) ?? 0) + 1);
    assert.deepEqual(pool.order(`call-${i}@host`), order, "the same Call-ID, the same order");
  }
  // Weight 2 against 1: about two thirds of the calls start at A.
  const share = firsts.get("10.0.0.10")! / 3000;
  assert.ok(share > 0.6 && share < 0.73, `A took ${share}`);
});

Deno.test("PbxPool.report(): down after `failures` failed pings in a row, up after `successes` good ones", () => {
  const pool = new PbxPool([A, B, C], RULE, 0);
  const name = "udp:10.0.0.10:5060";
  assert.equal(pool.report(name, false, 1), undefined);
  assert.equal(pool.report(name, false, 2), undefined);
  assert.equal(pool.report(name, true, 3), undefined, "a good ping breaks the streak");
  for (const t of [4, 5]) assert.equal(pool.report(name, false, t), undefined);
  assert.deepEqual(pool.report(name, false, 6), { name, up: false });
  assert.equal(pool.states[0]!.since, 6);
  assert.deepEqual(pool.order("x").map((t) => t.address.host), ["10.0.0.11", "10.0.0.12"]);
  assert.equal(pool.report(name, true, 7), undefined);
  assert.deepEqual(pool.report(name, true, 8), { name, up: true });
  pool.report("udp:10.0.0.11:5060", false, 9);
  for (const host of ["10.0.0.10", "10.0.0.11", "10.0.0.12"]) {
    for (let i = 0; i < 3; i++) pool.report(`udp:${host}:5060`, false, 10 + i);
  }
  assert.equal(pool.anyUp, false);
  assert.deepEqual(pool.order("x"), []);
});

Deno.test("PbxPool.replace() keeps the state of a target it keeps", () => {
  const pool = new PbxPool([A, B], RULE, 0);
  for (let i = 0; i < 3; i++) pool.report("udp:10.0.0.10:5060", false, i);
  pool.replace([A, C], RULE, 100);
  assert.deepEqual(pool.states.map((s) => [s.name, s.up]), [
    ["udp:10.0.0.10:5060", false],
    ["udp:10.0.0.12:5060", true],
  ]);
});
