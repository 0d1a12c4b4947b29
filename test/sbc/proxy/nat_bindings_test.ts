import assert from "node:assert/strict";
import { MAX_BINDINGS_PER_HOST, NatBindings } from "../../../sbc/proxy/nat_bindings.ts";

const binding = (host: string, port: number, expiresAt: number) => ({
  contact: `sip:a@10.0.0.5:${port}`,
  peer: { host, port },
  proto: "udp" as const,
  expiresAt,
});

Deno.test("NatBindings: one source host holds at most MAX_BINDINGS_PER_HOST; a binding that goes frees room", () => {
  const nat = new NatBindings();
  for (let port = 1; port <= MAX_BINDINGS_PER_HOST + 5; port++) {
    nat.learn(binding("198.51.100.7", port, 60_000), 0);
  }
  assert.equal(nat.size, MAX_BINDINGS_PER_HOST);
  nat.learn(binding("198.51.100.8", 1, 60_000), 0);
  assert.equal(nat.size, MAX_BINDINGS_PER_HOST + 1, "another host is not held back");
  nat.learn(binding("198.51.100.7", 1, 0), 0); // expires 0: unregistered
  nat.learn(binding("198.51.100.7", 99, 60_000), 0);
  assert.equal(nat.size, MAX_BINDINGS_PER_HOST + 1);
});

Deno.test("NatBindings: a registration's lifetime is capped at a day", () => {
  const nat = new NatBindings();
  nat.learn(binding("198.51.100.7", 1, 10 * 24 * 3600_000), 0);
  assert.equal(nat.due(24 * 3600_000 + 1, () => "z9hG4bK-x").length, 0, "expired after a day");
  assert.equal(nat.size, 0);
});
