import assert from "node:assert/strict";
import { CONFIG_ERROR_CODE, ConfigError, loadConfig, loadConfigFile } from "../../config/load.ts";

// Line numbers matter: the tests below replace lines of this file by number.
const BASE = [
  /* 1 */ "[interfaces.external]",
  /* 2 */ 'role = "external"',
  /* 3 */ 'sip = ["udp:127.0.1.1:5060", "tcp:127.0.1.1:5060"]',
  /* 4 */ 'media = "127.0.1.1"',
  /* 5 */ 'flags = "w"',
  /* 6 */ "",
  /* 7 */ "[interfaces.internal]",
  /* 8 */ 'role = "internal"',
  /* 9 */ 'sip = ["udp:127.0.2.1:5060"]',
  /* 10 */ 'media = "127.0.2.1"',
  /* 11 */ "",
  /* 12 */ "[media]",
  /* 13 */ "ports = [10000, 20000]",
  /* 14 */ "timeout = 60",
  /* 15 */ "",
  /* 16 */ "[pbx]",
  /* 17 */ 'address = "udp:127.0.2.10:5060"',
];

/** BASE with lines replaced by number (1-based); a replacement may span several lines. */
function edit(changes: Record<number, string>): string {
  return BASE.map((line, i) => changes[i + 1] ?? line).join("\n") + "\n";
}

function loadError(text: string): ConfigError {
  try {
    loadConfig(text, "edge.toml");
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail("expected a ConfigError");
}

function assertRefused(text: string, code: string, message: string): void {
  const error = loadError(text);
  assert.equal(error.message, message);
  assert.equal(error.code, code);
}

Deno.test("loadConfig() resolves a valid file and fills in defaults", () => {
  const config = loadConfig(edit({}), "edge.toml");
  assert.deepEqual(config, {
    source: "edge.toml",
    external: {
      name: "external",
      role: "external",
      sip: [
        { proto: "udp", host: "127.0.1.1", port: 5060 },
        { proto: "tcp", host: "127.0.1.1", port: 5060 },
      ],
      media: "127.0.1.1",
      advertise: undefined,
      flags: "w",
      trusted: [],
      allow: [],
      deny: [],
      networks: [],
      topologyHiding: true,
      serverHeader: undefined,
      natPing: 30,
      srtp: "off",
      tls: undefined,
    },
    internal: {
      name: "internal",
      role: "internal",
      sip: [{ proto: "udp", host: "127.0.2.1", port: 5060 }],
      media: "127.0.2.1",
      advertise: undefined,
      flags: "",
      trusted: [],
      allow: [],
      deny: [],
      networks: [],
      topologyHiding: false,
      serverHeader: undefined,
      natPing: 30,
      srtp: "off",
      tls: undefined,
    },
    media: {
      ports: [10000, 20000],
      timeout: 60,
      holdTimeout: 3600,
      offerTimeout: 180,
      maxStreams: 16,
      maxOffersPerSource: 200,
      maxSessionsPerSource: 1000,
    },
    pbx: {
      address: { proto: "udp", host: "127.0.2.10", port: 5060 },
      targets: [{
        address: { proto: "udp", host: "127.0.2.10", port: 5060 },
        priority: 1,
        weight: 1,
      }],
      failoverOn: [408, 500, 502, 503, 504],
      replyTimeout: 5,
      ringTimeout: 120,
      health: {
        interval: 5,
        failures: 3,
        successes: 2,
        failureStatus: "408|5[0-9][0-9]|6[0-9][0-9]",
      },
    },
    limits: { calls: 0, callsPerSecond: 0 },
    sip: {
      tcpIdleTimeout: 120,
      tcpMessageTimeout: 10,
      maxTcpConnections: 4096,
      maxTcpPerSource: 32,
      rateLimit: 2000,
      banTime: 60,
      maxTransactions: 100000,
      maxTransactionsPerSource: 10000,
    },
    routing: { script: undefined },
    admin: { listen: undefined, tokenFile: undefined, metricsOpen: false },
  });
});

Deno.test("loadConfig() accepts any interface names, IPv6 and a PBX host name", () => {
  const config = loadConfig(
    edit({
      1: "[interfaces.carrier-a]",
      3: 'sip = ["udp:[2001:db8::10]:5060"]',
      4: 'media = "2001:db8::10"\nadvertise = "203.0.113.10"',
      7: "[interfaces.lan_1]",
      17: 'address = "tcp:pbx.example.com"\n[admin]\nlisten = "[::1]:8089"',
    }),
    "edge.toml",
  );
  assert.equal(config.external.name, "carrier-a");
  assert.deepEqual(config.external.sip, [{ proto: "udp", host: "2001:db8::10", port: 5060 }]);
  assert.equal(config.external.advertise, "203.0.113.10");
  assert.equal(config.internal.name, "lan_1");
  assert.deepEqual(config.pbx.address, { proto: "tcp", host: "pbx.example.com", port: 5060 });
  assert.deepEqual(config.admin.listen, { host: "::1", port: 8089 });
});

Deno.test("loadConfig() takes the internal interface from its role, not its order", () => {
  const text = [...BASE.slice(6, 11), ...BASE.slice(0, 6), ...BASE.slice(11)].join("\n");
  const config = loadConfig(text, "edge.toml");
  assert.equal(config.external.name, "external");
  assert.equal(config.internal.name, "internal");
});

Deno.test("loadConfig() rejects a TOML syntax error with its line", () => {
  const error = loadError(edit({ 14: "timeout = " }));
  assert.equal(error.code, CONFIG_ERROR_CODE.syntax);
  assert.equal(error.line, 14);
  assert.match(error.message, /^edge\.toml:14: invalid TOML at column \d+: /);
});

Deno.test("loadConfig() rejects an unknown key with its line", () => {
  assertRefused(
    edit({ 5: 'flags = "w"\ncolour = 1' }),
    CONFIG_ERROR_CODE.unknownKey,
    "edge.toml:6: interfaces.external.colour: unknown key: allowed keys here are advertise, " +
      "allow, deny, flags, media, nat_ping, networks, role, server_header, sip, srtp, tls, " +
      "topology_hiding and trusted",
  );
});

Deno.test("loadConfig() rejects an unknown table with its line and a suggestion", () => {
  assertRefused(
    edit({ 12: "[medya]" }),
    CONFIG_ERROR_CODE.unknownKey,
    "edge.toml:12: medya: unknown key: allowed keys here are admin, interfaces, limits, media, " +
      'pbx, routing and sip (did you mean "media"?)',
  );
});

Deno.test("loadConfig() rejects an unknown dotted key with its line", () => {
  assertRefused(
    edit({ 15: "jitter.buffer = 40" }),
    CONFIG_ERROR_CODE.unknownKey,
    "edge.toml:15: media.jitter: unknown key: allowed keys here are hold_timeout, " +
      "max_offers_per_source, max_sessions_per_source, max_streams, offer_timeout, ports and timeout",
  );
});

Deno.test("loadConfig() rejects a wrong type with its line", async (t) => {
  await t.step("string for integer", () => {
    assertRefused(
      edit({ 14: 'timeout = "60"' }),
      CONFIG_ERROR_CODE.badType,
      'edge.toml:14: media.timeout: expected an integer 1..86400, found the string "60"',
    );
  });
  await t.step("float for integer", () => {
    assertRefused(
      edit({ 14: "timeout = 1.5" }),
      CONFIG_ERROR_CODE.badType,
      "edge.toml:14: media.timeout: expected an integer 1..86400, found the float 1.5",
    );
  });
  await t.step("string for list", () => {
    assertRefused(
      edit({ 9: 'sip = "udp:127.0.2.1:5060"' }),
      CONFIG_ERROR_CODE.badType,
      "edge.toml:9: interfaces.internal.sip: expected an array of socket addresses such as " +
        '["udp:127.0.1.1:5060", "tcp:127.0.1.1:5060"], found the string "udp:127.0.2.1:5060"',
    );
  });
  await t.step("value for table", () => {
    assertRefused(
      'pbx = "udp:127.0.2.10"\n' + edit({ 16: "", 17: "" }),
      CONFIG_ERROR_CODE.badType,
      'edge.toml:1: pbx: expected a table such as [pbx], found the string "udp:127.0.2.10"',
    );
  });
});

Deno.test("loadConfig() rejects a value out of range with its line", () => {
  assertRefused(
    edit({ 14: "timeout = 0" }),
    CONFIG_ERROR_CODE.outOfRange,
    "edge.toml:14: media.timeout: 0 is out of range: must be 1..86400",
  );
});

Deno.test("loadConfig() rejects a bad socket address at its array element's line", () => {
  assertRefused(
    edit({ 3: 'sip = [\n  "udp:127.0.1.1:5060",\n  "udp:127.0.1.1:99999",\n]' }),
    CONFIG_ERROR_CODE.badAddress,
    'edge.toml:5: interfaces.external.sip[1]: "udp:127.0.1.1:99999" is not a valid socket ' +
      "address: port must be 1..65535",
  );
});

Deno.test("loadConfig() rejects a host name where the SBC must bind", () => {
  assertRefused(
    edit({ 9: 'sip = ["udp:sbc.example.com:5060"]' }),
    CONFIG_ERROR_CODE.badAddress,
    'edge.toml:9: interfaces.internal.sip[0]: "udp:sbc.example.com:5060" is not a valid socket ' +
      'address: "sbc.example.com" is not an IP address (host names are not allowed here)',
  );
  assertRefused(
    edit({ 10: 'media = "localhost"' }),
    CONFIG_ERROR_CODE.badAddress,
    'edge.toml:10: interfaces.internal.media: "localhost" is not an IP address: expected IPv4 ' +
      'such as "127.0.1.1" or IPv6 such as "::1"',
  );
});

Deno.test("loadConfig() rejects a bad PBX address and an admin listen without port", () => {
  assertRefused(
    edit({ 17: 'address = "ws:127.0.2.10:5061"' }),
    CONFIG_ERROR_CODE.badAddress,
    'edge.toml:17: pbx.address: "ws:127.0.2.10:5061" is not a valid socket address: proto ' +
      '"ws" is not supported: use udp, tcp or tls',
  );
  assertRefused(
    edit({ 15: '[admin]\nlisten = "127.0.0.1"' }),
    CONFIG_ERROR_CODE.badAddress,
    'edge.toml:16: admin.listen: "127.0.0.1" is not a valid listen address: port is missing',
  );
});

Deno.test("loadConfig() rejects the same SIP socket used twice", () => {
  assertRefused(
    edit({ 9: 'sip = ["udp:127.0.2.1:5060", "UDP:127.0.1.1"]' }),
    CONFIG_ERROR_CODE.duplicateSocket,
    'edge.toml:9: interfaces.internal.sip[1]: "udp:127.0.1.1:5060" is already used by ' +
      "interfaces.external.sip[0]: each SIP socket may be listed once",
  );
});

Deno.test("loadConfig() accepts the same host and port over udp and tcp", () => {
  const config = loadConfig(edit({}), "edge.toml");
  assert.equal(config.external.sip.length, 2);
});

Deno.test("loadConfig() rejects two interfaces with the same media address", () => {
  assertRefused(
    edit({ 10: 'media = "127.0.1.1"' }),
    CONFIG_ERROR_CODE.duplicateMedia,
    'edge.toml:10: interfaces.internal.media: "127.0.1.1" is already the media address of ' +
      "interfaces.external: the two sides need distinct media addresses",
  );
});

Deno.test("loadConfig() rejects a PBX address that is one of our own sockets", () => {
  assertRefused(
    edit({ 17: 'address = "udp:127.0.2.1:5060"' }),
    CONFIG_ERROR_CODE.pbxLoop,
    'edge.toml:17: pbx.address: "udp:127.0.2.1:5060" is our own SIP socket ' +
      "interfaces.internal.sip[0]: requests would loop back to the SBC",
  );
});

Deno.test("loadConfig() rejects anything but one external and one internal interface", async (t) => {
  await t.step("two external", () => {
    assertRefused(
      edit({ 8: 'role = "external"' }),
      CONFIG_ERROR_CODE.badRoles,
      'edge.toml:8: interfaces.internal.role: "external" is already the role of ' +
        "interfaces.external: exactly one interface must be external and one internal",
    );
  });
  await t.step("no internal", () => {
    assertRefused(
      edit({ 7: "", 8: "", 9: "", 10: "" }),
      CONFIG_ERROR_CODE.badRoles,
      'edge.toml:1: interfaces: no interface has role "internal": exactly one external and ' +
        'one internal interface are required, as in [interfaces.internal] with role = "internal"',
    );
  });
  await t.step("unknown role", () => {
    assertRefused(
      edit({ 8: 'role = "inside"' }),
      CONFIG_ERROR_CODE.badValue,
      'edge.toml:8: interfaces.internal.role: "inside" is not a role: use "external" or ' +
        '"internal"',
    );
  });
  await t.step("a third interface", () => {
    assertRefused(
      edit({
        11: '[interfaces.dmz]\nrole = "internal"\nsip = ["udp:127.0.3.1"]\nmedia = "127.0.3.1"',
      }),
      CONFIG_ERROR_CODE.badRoles,
      'edge.toml:12: interfaces.dmz.role: "internal" is already the role of ' +
        "interfaces.internal: exactly one interface must be external and one internal",
    );
  });
});

Deno.test("loadConfig() rejects flags outside the supported rtpproxy_manage letters", async (t) => {
  await t.step("unknown letter", () => {
    assertRefused(
      edit({ 5: 'flags = "wq"' }),
      CONFIG_ERROR_CODE.badFlags,
      'edge.toml:5: interfaces.external.flags: "wq" has an unknown flag "q": supported flags ' +
        "are a, w, r, c, o, f",
    );
  });
  await t.step("direction letter", () => {
    assertRefused(
      edit({ 5: 'flags = "ie"' }),
      CONFIG_ERROR_CODE.badFlags,
      'edge.toml:5: interfaces.external.flags: "ie" has flag "i", which is not accepted here: ' +
        "the direction is derived from the receiving and sending interface",
    );
  });
  await t.step("contradiction", () => {
    assertRefused(
      edit({ 5: 'flags = "aw"' }),
      CONFIG_ERROR_CODE.badFlags,
      'edge.toml:5: interfaces.external.flags: "aw" has both "a" (asymmetric) and "w" ' +
        "(symmetric): use one of them",
    );
  });
  await t.step("every supported letter", () => {
    assert.equal(loadConfig(edit({ 5: 'flags = "wrcof"' }), "edge.toml").external.flags, "wrcof");
  });
});

Deno.test("loadConfig() rejects a bad media port range", async (t) => {
  const cases = [
    [
      "[20000, 10000]",
      "[20000, 10000] is not a valid port range: min 20000 is greater than max 10000",
    ],
    [
      "[10001, 20000]",
      "[10001, 20000] is not a valid port range: min must be even: RTP takes even ports, RTCP the odd port above",
    ],
    ["[1000, 20000]", "[1000, 20000] is not a valid port range: ports must be 1024..65535"],
    ["[10000, 70000]", "[10000, 70000] is not a valid port range: ports must be 1024..65535"],
    [
      "[10000, 10000]",
      "[10000, 10000] is not a valid port range: it must hold at least one RTP/RTCP pair (max >= min + 1)",
    ],
  ];
  for (const [ports, message] of cases) {
    await t.step(ports!, () => {
      assertRefused(
        edit({ 13: `ports = ${ports}` }),
        CONFIG_ERROR_CODE.badPortRange,
        `edge.toml:13: media.ports: ${message}`,
      );
    });
  }
  await t.step("not a pair", () => {
    assertRefused(
      edit({ 13: "ports = [10000]" }),
      CONFIG_ERROR_CODE.badType,
      "edge.toml:13: media.ports: expected an array [min, max] of ports 1024..65535, found an array",
    );
  });
  await t.step("smallest range", () => {
    const config = loadConfig(edit({ 13: "ports = [1024, 1025]" }), "edge.toml");
    assert.deepEqual(config.media.ports, [1024, 1025]);
  });
});

Deno.test("loadConfig() rejects a missing required key at its table's line", async (t) => {
  await t.step("key missing in a table", () => {
    assertRefused(
      edit({ 8: "" }),
      CONFIG_ERROR_CODE.missingKey,
      'edge.toml:7: interfaces.internal.role: required key is missing: expected "external" or ' +
        '"internal"',
    );
  });
  await t.step("table missing from the file", () => {
    assertRefused(
      edit({ 16: "", 17: "" }),
      CONFIG_ERROR_CODE.missingKey,
      "edge.toml: pbx: required key is missing: pbx.address (one PBX) or pbx.targets (a pool)",
    );
  });
  await t.step("empty list", () => {
    assertRefused(
      edit({ 9: "sip = []" }),
      CONFIG_ERROR_CODE.badValue,
      "edge.toml:9: interfaces.internal.sip: must list at least one socket, as in " +
        '["udp:127.0.1.1:5060", "tcp:127.0.1.1:5060"]',
    );
  });
});

Deno.test("loadConfig() rejects an interface name that is not a bare key", () => {
  assertRefused(
    edit({ 7: '[interfaces."lan side"]' }),
    CONFIG_ERROR_CODE.badValue,
    'edge.toml:7: interfaces."lan side": "lan side" is not a valid interface name: use letters, ' +
      'digits, "_" and "-"',
  );
});

Deno.test("loadConfig() finds lines in dotted keys, inline tables and past strings", () => {
  const text = [
    /* 1 */ "[interfaces]",
    /* 2 */ "external.role = 'external'",
    /* 3 */ 'external.sip = ["udp:127.0.1.1"]',
    /* 4 */ 'external.media = "127.0.1.1" # [media]',
    /* 5 */ "internal = { role = 'internal', sip = ['udp:127.0.2.1'], media = '127.0.2.1' }",
    /* 6 */ "[pbx]",
    /* 7 */ "address = 'udp:127.0.2.10' # a header inside a string is not a header:",
    /* 8 */ "[routing]",
    /* 9 */ 'script = """',
    /* 10 */ "[media]",
    /* 11 */ 'bogus = 1"""',
    /* 12 */ "[media]",
    /* 13 */ "bogus = 1",
  ].join("\n");
  assertRefused(
    text,
    CONFIG_ERROR_CODE.unknownKey,
    "edge.toml:13: media.bogus: unknown key: allowed keys here are hold_timeout, " +
      "max_offers_per_source, max_sessions_per_source, max_streams, offer_timeout, ports and timeout",
  );
  assertRefused(
    text.replace("'udp:127.0.2.1'", "'udp:127.0.2.1:0'"),
    CONFIG_ERROR_CODE.badAddress,
    'edge.toml:5: interfaces.internal.sip[0]: "udp:127.0.2.1:0" is not a valid socket address: ' +
      "port must be 1..65535",
  );
  assertRefused(
    text.replace("external.role = 'external'", "external.role = 'outside'"),
    CONFIG_ERROR_CODE.badValue,
    'edge.toml:2: interfaces.external.role: "outside" is not a role: use "external" or "internal"',
  );
});

Deno.test("loadConfig() resolves routing.script against baseDir", () => {
  const text = edit({ 17: 'address = "udp:127.0.2.10:5060"\n[routing]\nscript = "route.ts"' });
  assert.equal(loadConfig(text, "edge.toml").routing.script, "route.ts");
  assert.equal(
    loadConfig(text, "edge.toml", { baseDir: "/etc/edgesbc" }).routing.script,
    "/etc/edgesbc/route.ts",
  );
  const absolute = text.replace('"route.ts"', '"/srv/route.ts"');
  assert.equal(
    loadConfig(absolute, "edge.toml", { baseDir: "/etc/edgesbc" }).routing.script,
    "/srv/route.ts",
  );
});

Deno.test("loadConfigFile() resolves routing.script against the file's directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/edge.toml`;
    await Deno.writeTextFile(
      path,
      edit({ 17: 'address = "udp:127.0.2.10:5060"\n[routing]\nscript = "scripts/route.ts"' }),
    );
    const config = await loadConfigFile(path);
    assert.equal(config.source, path);
    assert.equal(config.routing.script, `${dir}/scripts/route.ts`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfigFile() reports an unreadable file with line 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/missing.toml`;
    const error = await loadConfigFile(path).then(
      () => assert.fail("expected a ConfigError"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, CONFIG_ERROR_CODE.unreadable);
    assert.equal(error.line, 0);
    assert.ok(error.message.startsWith(`${path}: cannot read: `), error.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() reads trusted networks and refuses one that is not a network", () => {
  const config = loadConfig(
    edit({ 5: 'flags = "w"\ntrusted = ["203.0.113.0/24", "2001:db8::1"]' }),
    "edge.toml",
  );
  assert.deepEqual(config.external.trusted.map((n) => n.text), ["203.0.113.0/24", "2001:db8::1"]);
  const error = loadError(edit({ 5: 'flags = "w"\ntrusted = ["203.0.113.0/33"]' }));
  assert.equal(error.line, 6);
  assert.match(
    error.message,
    /trusted\[0\]: "203\.0\.113\.0\/33": the prefix length must be 0\.\.32/,
  );
});

Deno.test("loadConfig() hides topology outside by default and refuses it inside", () => {
  const config = loadConfig(edit({}), "edge.toml");
  assert.equal(config.external.topologyHiding, true);
  assert.equal(config.internal.topologyHiding, false);
  const off = loadConfig(edit({ 5: 'flags = "w"\ntopology_hiding = false' }), "edge.toml");
  assert.equal(off.external.topologyHiding, false);
  assertRefused(
    edit({ 10: 'media = "127.0.2.1"\ntopology_hiding = true' }),
    CONFIG_ERROR_CODE.badValue,
    "edge.toml:11: interfaces.internal.topology_hiding: topology hiding hides the inside from " +
      "the external interface; the internal interface cannot hide (set it on the external one, " +
      "or leave it out)",
  );
});

Deno.test("loadConfig() refuses an admin API without a token where outsiders reach it", () => {
  for (const listen of ["0.0.0.0:8089", "[::]:8089", "127.0.1.1:8089"]) {
    const error = loadError(
      edit({ 17: `address = "udp:127.0.2.10:5060"\n\n[admin]\nlisten = "${listen}"` }),
    );
    assert.equal(error.code, CONFIG_ERROR_CODE.badValue, listen);
    assert.match(error.message, /admin\.listen: .* has no token: set admin\.token_file/);
  }
  for (const listen of ["127.0.0.1:8089", "127.0.2.1:8089"]) {
    const config = loadConfig(
      edit({ 17: `address = "udp:127.0.2.10:5060"\n\n[admin]\nlisten = "${listen}"` }),
      "edge.toml",
    );
    assert.equal(config.admin.tokenFile, undefined, listen);
  }
  const withToken = loadConfig(
    edit({
      17:
        'address = "udp:127.0.2.10:5060"\n\n[admin]\nlisten = "0.0.0.0:8089"\ntoken_file = "admin.token"',
    }),
    "edge.toml",
    { baseDir: "/etc/edgesbc" },
  );
  assert.equal(withToken.admin.tokenFile, "/etc/edgesbc/admin.token");
});

Deno.test("loadConfig() reads a pool of PBX targets and refuses a bad one with its line", () => {
  const pool = edit({
    17: [
      "targets = [",
      '  { address = "udp:127.0.2.10:5060", priority = 1, weight = 2 },',
      '  { address = "tcp:127.0.2.12:5060", priority = 2 },',
      "]",
      "failover_on = [408, 503]",
      "[pbx.health]",
      "interval = 0",
    ].join("\n"),
  });
  const config = loadConfig(pool, "edge.toml");
  assert.deepEqual(config.pbx.targets, [
    { address: { proto: "udp", host: "127.0.2.10", port: 5060 }, priority: 1, weight: 2 },
    { address: { proto: "tcp", host: "127.0.2.12", port: 5060 }, priority: 2, weight: 1 },
  ]);
  assert.deepEqual(config.pbx.address, config.pbx.targets[0]!.address);
  assert.deepEqual(config.pbx.failoverOn, [408, 503]);
  assert.equal(config.pbx.health.interval, 0);
  assertRefused(
    edit({ 17: 'targets = [{ address = "udp:127.0.2.10:5060", weight = 0 }]' }),
    CONFIG_ERROR_CODE.badValue,
    "edge.toml:17: pbx.targets[0]: weight must be an integer 1..1000, found the integer 0",
  );
  assertRefused(
    edit({ 17: 'address = "udp:127.0.2.10:5060"\ntargets = [{ address = "udp:127.0.2.11" }]' }),
    CONFIG_ERROR_CODE.badValue,
    "edge.toml:18: pbx.targets: give address or targets, not both (address is targets with one " +
      "entry)",
  );
  assertRefused(
    edit({ 17: "failover_on = [200]" }),
    CONFIG_ERROR_CODE.badValue,
    "edge.toml:17: pbx.failover_on[0]: 200 is not a final failure status (300..699)",
  );
});

Deno.test("loadConfig() refuses a [pbx.health] failure_status that is not a regular expression", () => {
  assertRefused(
    edit({ 17: 'address = "udp:127.0.2.10:5060"\n[pbx.health]\nfailure_status = "5[0-9"' }),
    CONFIG_ERROR_CODE.badValue,
    'edge.toml:19: pbx.health.failure_status: "5[0-9" is not a regular expression: ' +
      "Invalid regular expression: /^(?:5[0-9)$/: Unterminated character class",
  );
});
