import assert from "node:assert/strict";
import { parseFlags } from "../../rtp/flags.ts";

Deno.test("parseFlags() returns all defaults for an empty string", () => {
  assert.deepEqual(parseFlags(""), {
    asymmetric: false,
    symmetric: false,
    trustAddress: false,
    sessionConnection: false,
    origin: false,
    force: false,
    lookupOnly: false,
    direction: [],
    ignored: [],
  });
});

Deno.test("parseFlags() reads each supported letter, case-insensitively", () => {
  const f = parseFlags("WRCOFL");
  assert.equal(f.symmetric, true);
  assert.equal(f.trustAddress, true);
  assert.equal(f.sessionConnection, true);
  assert.equal(f.origin, true);
  assert.equal(f.force, true);
  assert.equal(f.lookupOnly, true);
  assert.equal(f.asymmetric, false);
});

Deno.test("parseFlags() makes a imply r", () => {
  const f = parseFlags("a");
  assert.equal(f.asymmetric, true);
  assert.equal(f.trustAddress, true);
});

Deno.test("parseFlags() keeps i/e as an ordered direction hint", () => {
  assert.deepEqual(parseFlags("ie").direction, ["i", "e"]);
  assert.deepEqual(parseFlags("eiw").direction, ["e", "i"]);
  assert.deepEqual(parseFlags("EE").direction, ["e", "e"]);
});

Deno.test("parseFlags() lists ignored and unknown letters, z with its digits", () => {
  const f = parseFlags("1z20xq3bt");
  assert.deepEqual(f.ignored, ["1", "z20", "x", "q", "3", "b", "t"]);
});
