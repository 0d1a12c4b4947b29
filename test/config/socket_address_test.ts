import assert from "node:assert/strict";
import {
  formatHostPort,
  formatSocketAddress,
  isIpAddress,
  parseHostPort,
  parseSocketAddress,
} from "../../config/socket_address.ts";

Deno.test("parseSocketAddress() reads Kamailio listen syntax", async (t) => {
  const cases = [
    ["udp:127.0.1.1:5060", { proto: "udp", host: "127.0.1.1", port: 5060 }],
    ["tcp:10.0.2.100:5060", { proto: "tcp", host: "10.0.2.100", port: 5060 }],
    ["udp:127.0.1.1", { proto: "udp", host: "127.0.1.1", port: 5060 }],
    ["127.0.1.1:5070", { proto: "udp", host: "127.0.1.1", port: 5070 }],
    ["tls:127.0.1.1:5062", { proto: "tls", host: "127.0.1.1", port: 5062 }],
    ["tls:127.0.1.1", { proto: "tls", host: "127.0.1.1", port: 5061 }],
    ["127.0.1.1", { proto: "udp", host: "127.0.1.1", port: 5060 }],
    ["udp:[::1]:5060", { proto: "udp", host: "::1", port: 5060 }],
    ["TCP:[2001:DB8::1]", { proto: "tcp", host: "2001:db8::1", port: 5060 }],
    ["[::ffff:192.0.2.1]:5080", { proto: "udp", host: "::ffff:192.0.2.1", port: 5080 }],
  ] as const;
  for (const [text, expected] of cases) {
    await t.step(text, () => {
      assert.deepEqual(parseSocketAddress(text), { ok: true, value: expected });
    });
  }
});

Deno.test("parseSocketAddress() rejects malformed addresses with a reason", async (t) => {
  const cases = [
    ["udp:127.0.1.1:99999", "port must be 1..65535"],
    ["udp:127.0.1.1:0", "port must be 1..65535"],
    ["udp:127.0.1.1:50x", `port "50x" is not a number`],
    ["wss:127.0.1.1:5061", `proto "wss" is not supported: use udp, tcp or tls`],
    ["udp:127.0.1.256:5060", `"127.0.1.256" is not an IPv4 address`],
    ["udp:127.0.1:5060", `"127.0.1" is not an IPv4 address`],
    ["udp::::1", `an IPv6 address must be in brackets, as in "udp:[::1]:5060"`],
    ["udp:[::1", `"]" is missing after the IPv6 address`],
    ["udp:[::g]:5060", `"::g" is not an IPv6 address`],
    ["udp:[1:2:3:4:5:6:7:8:9]", `"1:2:3:4:5:6:7:8:9" is not an IPv6 address`],
    ["udp:[::1]5060", `expected ":port" after "]", found "5060"`],
    ["udp::5060", "host is missing"],
    [
      "udp:pbx.example.com:5060",
      `"pbx.example.com" is not an IP address (host names are not allowed here)`,
    ],
  ] as const;
  for (const [text, error] of cases) {
    await t.step(text, () => {
      assert.deepEqual(parseSocketAddress(text), { ok: false, error });
    });
  }
});

Deno.test("parseSocketAddress() accepts host names only when the caller allows them", () => {
  assert.deepEqual(parseSocketAddress("udp:PBX.example.com:5060", { hostNames: true }), {
    ok: true,
    value: { proto: "udp", host: "pbx.example.com", port: 5060 },
  });
  assert.deepEqual(parseSocketAddress("pbx:5070", { hostNames: true }), {
    ok: true,
    value: { proto: "udp", host: "pbx", port: 5070 },
  });
  assert.deepEqual(parseSocketAddress("udp:-pbx-:5060", { hostNames: true }), {
    ok: false,
    error: `"-pbx-" is not a valid host name`,
  });
});

Deno.test("formatSocketAddress() writes listen syntax that parses back", () => {
  const addresses = [
    { proto: "udp", host: "127.0.1.1", port: 5060 },
    { proto: "tcp", host: "2001:db8::1", port: 5070 },
  ] as const;
  assert.equal(formatSocketAddress(addresses[0]), "udp:127.0.1.1:5060");
  assert.equal(formatSocketAddress(addresses[1]), "tcp:[2001:db8::1]:5070");
  for (const address of addresses) {
    assert.deepEqual(parseSocketAddress(formatSocketAddress(address)), {
      ok: true,
      value: address,
    });
  }
});

Deno.test("parseHostPort() requires a port unless given a default", () => {
  assert.deepEqual(parseHostPort("127.0.0.1:8089"), {
    ok: true,
    value: { host: "127.0.0.1", port: 8089 },
  });
  assert.deepEqual(parseHostPort("[::1]:8089"), { ok: true, value: { host: "::1", port: 8089 } });
  assert.deepEqual(parseHostPort("127.0.0.1"), { ok: false, error: "port is missing" });
  assert.deepEqual(parseHostPort("127.0.0.1", { defaultPort: 80 }), {
    ok: true,
    value: { host: "127.0.0.1", port: 80 },
  });
  assert.equal(formatHostPort({ host: "::1", port: 8089 }), "[::1]:8089");
});

Deno.test("isIpAddress() accepts IPv4 and IPv6 literals only", () => {
  for (const text of ["127.0.0.1", "::", "::1", "fe80::1", "1:2:3:4:5:6:7:8", "::ffff:10.0.0.1"]) {
    assert.equal(isIpAddress(text), true, text);
  }
  for (
    const text of ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "localhost", "1.2.3.4::", ":::", "[::1]"]
  ) {
    assert.equal(isIpAddress(text), false, text);
  }
});
