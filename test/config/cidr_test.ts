import assert from "node:assert/strict";
import { inNetworks, parseCidr } from "../../config/cidr.ts";
import type { Cidr } from "../../config/config.ts";

function cidrs(...texts: string[]): Cidr[] {
  return texts.map((t) => {
    const parsed = parseCidr(t);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  });
}

Deno.test("inNetworks() matches IPv4 and IPv6 networks and single addresses", () => {
  const nets = cidrs("203.0.113.0/24", "198.51.100.7", "2001:db8::/32", "::ffff:192.0.2.0/120");
  assert.equal(inNetworks("203.0.113.200", nets), true);
  assert.equal(inNetworks("203.0.114.1", nets), false);
  assert.equal(inNetworks("198.51.100.7", nets), true);
  assert.equal(inNetworks("198.51.100.8", nets), false);
  assert.equal(inNetworks("2001:db8:1::5", nets), true);
  assert.equal(inNetworks("[2001:db8::1]", nets), true);
  assert.equal(inNetworks("2001:db9::1", nets), false);
  assert.equal(inNetworks("::ffff:192.0.2.9", nets), true);
  assert.equal(inNetworks("192.0.2.9", nets), true, "a mapped network is its IPv4 network");
  // A mapped address is the IPv4 host it carries, in either spelling.
  assert.equal(inNetworks("::ffff:203.0.113.5", nets), true);
  assert.equal(inNetworks("[::ffff:cb00:7105]", nets), true);
  assert.equal(inNetworks("example.com", nets), false);
  assert.equal(inNetworks("203.0.113.1", []), false);
  assert.equal(inNetworks("10.1.2.3", cidrs("0.0.0.0/0")), true);
  assert.equal(inNetworks("::1", cidrs("0.0.0.0/0")), false, "families never mix");
});

Deno.test("parseCidr() refuses what is not a network", () => {
  for (
    const bad of [
      "203.0.113.0/33",
      "2001:db8::/129",
      "example.com/8",
      "1.2.3.4/x",
      "1.2.3/8",
      "1.2.3.4/8/8",
    ]
  ) {
    assert.equal(parseCidr(bad).ok, false, bad);
  }
});
