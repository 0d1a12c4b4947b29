import assert from "node:assert/strict";
import { cycles, folderOf, layerViolations } from "../../tools/check_graph.ts";

Deno.test("folderOf() takes the deepest layer folder a file sits directly in", () => {
  assert.equal(folderOf("rtp/relay.ts"), "rtp/");
  assert.equal(folderOf("rtp/packet/forward.ts"), "rtp/packet/");
  assert.equal(folderOf("sbc/start_sbc.ts"), "sbc/");
  assert.equal(folderOf("sbc/proxy/proxy_core.ts"), "sbc/proxy/");
  assert.equal(folderOf("main.ts"), "main.ts");
  assert.equal(folderOf("sbc/unknown/deeper/x.ts"), undefined);
});

Deno.test("layerViolations() refuses upward and sideways imports, allows downward ones", () => {
  assert.deepEqual(
    layerViolations([
      { from: "sbc/start_sbc.ts", to: "rtp/relay.ts" },
      { from: "rtp/relay.ts", to: "rtp/packet/forward.ts" },
      { from: "sbc/proxy/proxy_core.ts", to: "sbc/proxy/context.ts" },
    ]),
    [],
  );
  assert.deepEqual(
    layerViolations([
      { from: "rtp/relay.ts", to: "sbc/transaction/clock.ts" },
      { from: "sbc/admin/admin_server.ts", to: "sbc/script/script.ts" },
    ]),
    [
      "rtp/relay.ts → sbc/transaction/clock.ts: rtp/ may not import the higher layer sbc/transaction/",
      "sbc/admin/admin_server.ts → sbc/script/script.ts: sbc/admin/ and sbc/script/ are side by side",
    ],
  );
});

Deno.test("cycles() finds every import circle and nothing else", () => {
  const edges = [
    { from: "a", to: "b" },
    { from: "b", to: "c" },
    { from: "c", to: "a" },
    { from: "c", to: "d" },
    { from: "e", to: "e" },
  ];
  assert.deepEqual(cycles(["a", "b", "c", "d", "e"], edges), [["a", "b", "c"], ["e"]]);
  assert.deepEqual(cycles(["a", "b"], [{ from: "a", to: "b" }]), []);
});
