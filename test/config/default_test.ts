import assert from "node:assert/strict";
import { DEFAULT_CONFIG_SOURCE, defaultConfig } from "../../config/default.ts";

Deno.test("defaultConfig() loads the embedded loopback config", () => {
  const config = defaultConfig();
  assert.equal(config.source, DEFAULT_CONFIG_SOURCE);
  assert.equal(config.external.name, "external");
  assert.deepEqual(config.external.sip, [
    { proto: "udp", host: "127.0.1.1", port: 5060 },
    { proto: "tcp", host: "127.0.1.1", port: 5060 },
  ]);
  assert.equal(config.external.media, "127.0.1.1");
  assert.equal(config.internal.name, "internal");
  assert.deepEqual(config.internal.sip, [
    { proto: "udp", host: "127.0.2.1", port: 5060 },
    { proto: "tcp", host: "127.0.2.1", port: 5060 },
  ]);
  assert.equal(config.internal.media, "127.0.2.1");
  assert.deepEqual(config.pbx.address, { proto: "udp", host: "127.0.2.10", port: 5060 });
  assert.deepEqual(config.media.ports, [10000, 20000]);
  assert.equal(config.media.timeout, 60);
  assert.deepEqual(config.admin.listen, { host: "127.0.0.1", port: 8089 });
  assert.equal(config.routing.script, undefined);
});
