import assert from "node:assert/strict";
import { compose, type Step } from "../../../sbc/proxy/pipeline.ts";
import { request } from "../../kit/phone_and_pbx.ts";
import { context, fakeActions } from "../../kit/proxy_actions.ts";

/** A step that records its name, then does `then` (default: go on). */
function step(name: string, seen: string[], then?: Step): Step {
  return async (ctx, actions, next) => {
    seen.push(name);
    if (then) await then(ctx, actions, next);
    else await next();
  };
}

Deno.test("compose() runs the steps in order, each going on with next()", async () => {
  const seen: string[] = [];
  const run = compose([step("a", seen), step("b", seen), step("c", seen)]);
  const { actions } = fakeActions();
  await run(context(request("INVITE")), actions);
  assert.deepEqual(seen, ["a", "b", "c"]);
});

Deno.test("compose() stops at a step that does not call next() or that answers", async () => {
  const seen: string[] = [];
  const { actions, calls } = fakeActions();
  const stop = compose([step("a", seen, () => Promise.resolve()), step("b", seen)]);
  await stop(context(request("INVITE")), actions);
  assert.deepEqual(seen, ["a"]);
  seen.length = 0;
  const answer = compose([
    step("a", seen, async (ctx, actions, next) => {
      actions.reply(ctx, 403, "Forbidden");
      await next();
    }),
    step("b", seen),
  ]);
  await answer(context(request("INVITE")), actions);
  assert.deepEqual(seen, ["a"], "a done context runs no further step");
  assert.deepEqual(calls.replies.map((r) => r.status), [403]);
});

Deno.test("compose() refuses a step that calls next() twice, and runs the rest once", async () => {
  const seen: string[] = [];
  const twice: Step = async (_ctx, _actions, next) => {
    await next();
    await next();
  };
  const run = compose([step("a", seen, twice), step("b", seen)]);
  const { actions } = fakeActions();
  await assert.rejects(
    () => run(context(request("INVITE")), actions),
    { message: "Cannot run pipeline step: next() called twice" },
  );
  assert.deepEqual(seen, ["a", "b"]);
});
