import assert from "node:assert/strict";
import { defaultConfig } from "../../../config/default.ts";
import { parseCidr } from "../../../config/cidr.ts";
import type { Cidr, Config } from "../../../config/config.ts";
import {
  Boundary,
  crossesBoundary,
  ownerOf,
  sideNetworks,
} from "../../../sbc/proxy/side_networks.ts";

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  assert.ok(parsed.ok);
  return parsed.value;
}

function withNetworks(internal: string[], external: string[] = []): Config {
  const config = defaultConfig();
  return {
    ...config,
    internal: { ...config.internal, networks: internal.map(cidr) },
    external: { ...config.external, networks: external.map(cidr) },
  };
}

Deno.test("sideNetworks() gives the inside the PBX and its own addresses, the outside its own", () => {
  const networks = sideNetworks(defaultConfig());
  assert.equal(ownerOf(networks, "127.0.2.10"), "internal"); // the PBX
  assert.equal(ownerOf(networks, "127.0.2.1"), "internal"); // our inside address
  assert.equal(ownerOf(networks, "127.0.1.1"), "external"); // our outside address
  assert.equal(ownerOf(networks, "127.0.2.99"), undefined); // not listed
  assert.equal(ownerOf(networks, "pbx.example.com"), undefined);
});

Deno.test("crossesBoundary() refuses the other side's networks by one side, in both directions", () => {
  const networks = sideNetworks(withNetworks(["10.0.0.0/8"], ["198.51.100.0/24"]));
  assert.equal(crossesBoundary(networks, "external", "10.1.2.3"), true);
  assert.equal(crossesBoundary(networks, "external", "127.0.2.10"), true);
  assert.equal(crossesBoundary(networks, "internal", "10.1.2.3"), false);
  assert.equal(crossesBoundary(networks, "internal", "198.51.100.7"), true);
  assert.equal(crossesBoundary(networks, "external", "198.51.100.7"), false);
  // An address neither side lists is the internet: reachable from outside only by the outside.
  assert.equal(crossesBoundary(networks, "external", "192.0.2.50"), false);
});

Deno.test("crossesBoundary() lets an address both sides list through either", () => {
  const networks = sideNetworks(withNetworks(["10.0.0.0/8"], ["10.9.0.0/16"]));
  assert.equal(crossesBoundary(networks, "external", "10.9.1.1"), false);
  assert.equal(crossesBoundary(networks, "external", "10.8.1.1"), true);
});

Deno.test("Boundary answers as crossesBoundary() does, from its memory the second time", () => {
  const networks = sideNetworks(withNetworks(["10.0.0.0/8"]));
  const boundary = new Boundary(networks);
  for (const host of ["10.1.2.3", "192.0.2.1", "127.0.2.012", "::ffff:10.0.0.1"]) {
    for (const side of ["external", "internal"] as const) {
      const expected = crossesBoundary(networks, side, host);
      assert.equal(boundary.crosses(side, host), expected, `${side} ${host}`);
      assert.equal(boundary.crosses(side, host), expected, `${side} ${host} again`);
    }
  }
});
