import assert from "node:assert/strict";
import { TimerWheel } from "../../../sbc/transaction/clock.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("TimerWheel fires timers in order, about on time, and never a cleared one", async () => {
  const wheel = new TimerWheel(10);
  try {
    const fired: string[] = [];
    const start = performance.now();
    let lateBy = 0;
    wheel.setTimer(() => fired.push("b"), 60);
    wheel.setTimer(() => {
      fired.push("a");
      lateBy = performance.now() - start - 20;
    }, 20);
    const cleared = wheel.setTimer(() => fired.push("never"), 30);
    wheel.clearTimer(cleared);
    assert.equal(wheel.pending, 2);
    await sleep(120);
    assert.deepEqual(fired, ["a", "b"]);
    assert.ok(lateBy >= 0 && lateBy < 60, `fired ${lateBy} ms late`);
    assert.equal(wheel.pending, 0);
  } finally {
    wheel.close();
  }
});

Deno.test("TimerWheel keeps going when a callback throws, and close() drops armed timers", async () => {
  const wheel = new TimerWheel(10);
  const fired: number[] = [];
  const error = console.error;
  console.error = () => {};
  try {
    wheel.setTimer(() => {
      throw new Error("boom");
    }, 10);
    wheel.setTimer(() => fired.push(1), 10);
    await sleep(50);
    assert.deepEqual(fired, [1]);
    wheel.setTimer(() => fired.push(2), 1000);
  } finally {
    console.error = error;
    wheel.close();
  }
  assert.equal(wheel.pending, 0);
});
