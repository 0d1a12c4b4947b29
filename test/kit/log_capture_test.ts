import assert from "node:assert/strict";
import { getConfig, getLogger } from "@logtape/logtape";
import { captureLogs } from "./log_capture.ts";

Deno.test("captureLogs() keeps its category's records and stops when disposed", () => {
  assert.equal(getConfig(), null, "no logging configured before");
  const kept = (() => {
    using logs = captureLogs({ category: ["edgesbc", "sip"], level: "info" });
    getLogger(["edgesbc", "sip", "tx"]).warn("kept {n}", { n: 1 });
    getLogger(["edgesbc", "sip"]).debug("below the level");
    getLogger(["edgesbc", "rtp"]).error("another category");
    assert.deepEqual(logs.records.map((r) => r.level), ["warning"]);
    return logs;
  })();
  assert.equal(getConfig(), null, "the configuration before is back");
  getLogger(["edgesbc", "sip"]).error("after the capture");
  assert.deepEqual(kept.take(), ["kept 1"]);
});

Deno.test("captureLogs() nested in another puts the outer one back", () => {
  using outer = captureLogs();
  {
    using inner = captureLogs();
    getLogger(["edgesbc"]).info("inner");
    assert.deepEqual(inner.take(), ["inner"]);
  }
  getLogger(["edgesbc"]).info("outer");
  assert.deepEqual(outer.take(), ["outer"]);
});
