import assert from "node:assert/strict";
import { ManualClock } from "./manual_clock.ts";

Deno.test("ManualClock.advance() fires due timers in time order, at their time", () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimer(() => fired.push(`b@${clock.now()}`), 300);
  clock.setTimer(() => fired.push(`a@${clock.now()}`), 100);
  clock.setTimer(() => fired.push(`late@${clock.now()}`), 1000);
  clock.advance(500);
  assert.deepEqual(fired, ["a@100", "b@300"]);
  assert.equal(clock.now(), 500);
  assert.equal(clock.pending, 1);
});

Deno.test("ManualClock.advance() fires timers armed by timers within the step, never cleared ones", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const cleared = clock.setTimer(() => fired.push(-1), 50);
  clock.setTimer(() => clock.setTimer(() => fired.push(clock.now()), 100), 100);
  clock.clearTimer(cleared);
  clock.advance(250);
  assert.deepEqual(fired, [200]);
  assert.equal(clock.pending, 0);
});
