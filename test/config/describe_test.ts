import assert from "node:assert/strict";
import { defaultConfig } from "../../config/default.ts";
import { describeConfig } from "../../config/describe.ts";
import { loadConfig } from "../../config/load.ts";

Deno.test("describeConfig() output re-loads to an equal Config", async (t) => {
  await t.step("default config", () => {
    const config = defaultConfig();
    assert.deepEqual(loadConfig(describeConfig(config), config.source), config);
  });
  await t.step("every optional key set", () => {
    const config = loadConfig(
      [
        "[interfaces.wan]",
        'role = "external"',
        'sip = ["tcp:[2001:db8::10]:5070", "udp:198.51.100.10"]',
        'media = "2001:db8::10"',
        'advertise = "203.0.113.10"',
        'flags = "ar"',
        "[interfaces.lan]",
        'role = "internal"',
        'sip = ["10.0.2.100"]',
        'media = "10.0.2.100"',
        "[media]",
        "ports = [30000, 30099]",
        "timeout = 30",
        "hold_timeout = 600",
        "offer_timeout = 90",
        "[pbx]",
        'address = "tcp:pbx.example.com:5080"',
        "[sip]",
        "tcp_idle_timeout = 300",
        "[routing]",
        'script = "/etc/edgesbc/route \\"main\\".ts"',
        "[admin]",
        'listen = "[::1]:9000"',
      ].join("\n"),
      "edge.toml",
    );
    assert.deepEqual(loadConfig(describeConfig(config), config.source), config);
  });
});

Deno.test("describeConfig() prints defaults and says which optional keys are not set", () => {
  const text = describeConfig(defaultConfig());
  assert.match(text, /^# edgesbc configuration resolved from <default>/);
  assert.match(text, /\nhold_timeout = 3600\n/);
  assert.match(text, /\n# script not set: the built-in bridge pipeline\n/);
  assert.match(text, /\n# advertise not set: the listen and media addresses\n/);
});
