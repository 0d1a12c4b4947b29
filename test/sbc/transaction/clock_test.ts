import assert from "node:assert/strict";
import { TimerWheel } from "../../../sbc/transaction/clock.ts";
import { captureLogs } from "../../kit/log_capture.ts";

const TICK = 10;

/** A wheel on a hand-set clock whose ticks the test delivers (an interval that can stall). */
function handWheel(start: number) {
  let now = start;
  let tick: (() => void) | undefined;
  let stopped = false;
  const wheel = new TimerWheel({
    tickMs: TICK,
    now: () => now,
    schedule: (fn, ms) => {
      assert.equal(ms, TICK, "ticks every tickMs");
      tick = fn;
      return () => void (stopped = true);
    },
  });
  return {
    wheel,
    now: () => now,
    stopped: () => stopped,
    /** Moves time by `ms` without a tick (a stalled event loop). */
    stall(ms: number) {
      now += ms;
    },
    /** Moves time by `ms`, ticking every TICK ms as the interval would. */
    run(ms: number) {
      for (const end = now + ms; now < end;) {
        now = Math.min(now + TICK, end);
        tick!();
      }
    },
  };
}

Deno.test("TimerWheel fires timers in order, never early, at most one tick late", () => {
  // Start between two ticks, so due times fall inside slots, not on their edges.
  const hand = handWheel(1003);
  const fired: [string, number][] = [];
  const arm = (name: string, ms: number) =>
    hand.wheel.setTimer(() => fired.push([name, hand.now() - 1003 - ms]), ms);
  arm("b", 60);
  arm("a", 20);
  arm("c", 61);
  hand.wheel.clearTimer(arm("never", 30));
  assert.equal(hand.wheel.pending, 3);
  hand.run(19);
  assert.equal(fired.length, 0, "nothing before its time");
  hand.run(200);
  assert.deepEqual(fired.map(([name]) => name), ["a", "b", "c"]);
  for (const [name, late] of fired) assert.ok(late >= 0 && late < TICK, `${name} ${late} ms late`);
  assert.equal(hand.wheel.pending, 0);
  hand.wheel.close();
});

Deno.test("TimerWheel catches up on every slot in order after a stalled tick", () => {
  const hand = handWheel(0);
  const fired: number[] = [];
  for (const ms of [50, 10, 30]) hand.wheel.setTimer(() => fired.push(ms), ms);
  hand.stall(100);
  assert.equal(fired.length, 0);
  hand.run(1);
  assert.deepEqual(fired, [10, 30, 50]);
  // A timer armed after the stall is due from now, not from the last tick.
  hand.wheel.setTimer(() => fired.push(0), 0);
  hand.run(TICK);
  assert.deepEqual(fired, [10, 30, 50, 0]);
  hand.wheel.close();
});

Deno.test("TimerWheel logs a failing callback and fires the others; close() drops armed timers", () => {
  using logs = captureLogs({ category: ["edgesbc", "sip"] });
  const hand = handWheel(0);
  const fired: number[] = [];
  hand.wheel.setTimer(() => {
    throw new Error("boom");
  }, 10);
  hand.wheel.setTimer(() => fired.push(1), 10);
  hand.run(20);
  assert.deepEqual(fired, [1]);
  assert.deepEqual(logs.records.map((r) => r.level), ["error"]);
  assert.deepEqual(logs.take(), ["Timer callback failed: boom"]);
  hand.wheel.setTimer(() => fired.push(2), 1000);
  hand.wheel.close();
  assert.ok(hand.stopped(), "the tick is stopped");
  assert.equal(hand.wheel.pending, 0);
});

Deno.test("TimerWheel() defaults to performance.now() and an interval that close() clears", () => {
  // The leak sanitizer fails this test if close() leaves the interval running.
  const wheel = new TimerWheel();
  assert.ok(Math.abs(wheel.now() - performance.now()) < 1000);
  wheel.close();
});
