// `check` (loadConfigFile) refuses TLS settings that could not serve a handshake, naming the file
// and line of the key at fault; certificates come from openssl (test/e2e/_tls_certs.ts).
import assert from "node:assert/strict";
import { CONFIG_ERROR_CODE, ConfigError, loadConfig, loadConfigFile } from "../../config/load.ts";
import { makeTlsCerts } from "../e2e/_tls_certs.ts";

/** A config with a tls: socket; `tls` is the body of [interfaces.external.tls] (from line 6). */
function config(tls: string): string {
  return [
    /* 1 */ "[interfaces.external]",
    /* 2 */ 'role = "external"',
    /* 3 */ 'sip = ["udp:127.0.1.1:5060", "tls:127.0.1.1:5061"]',
    /* 4 */ 'media = "127.0.1.1"',
    /* 5 */ "[interfaces.external.tls]",
    /* 6 */ tls,
    "[interfaces.internal]",
    'role = "internal"',
    'sip = ["udp:127.0.2.1:5060"]',
    'media = "127.0.2.1"',
    "[pbx]",
    'address = "udp:127.0.2.10:5060"',
  ].join("\n") + "\n";
}

async function refusal(dir: string, text: string): Promise<ConfigError> {
  const path = `${dir}/edge.toml`;
  await Deno.writeTextFile(path, text);
  try {
    await loadConfigFile(path);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  return assert.fail("expected a ConfigError");
}

Deno.test("loadConfigFile() loads good TLS files and refuses bad ones with FILE:LINE", async () => {
  await using certs = await makeTlsCerts();
  const { dir, server, expired, client, ca } = certs;
  const path = `${dir}/edge.toml`;
  const lines = (cert: string, key: string, extra = "") =>
    `cert = "${cert}"\nkey = "${key}"\n${extra}`;

  await Deno.writeTextFile(path, config(lines(server.cert, server.key, `ca = "${ca}"`)));
  const loaded = await loadConfigFile(path);
  assert.deepEqual(loaded.external.tls, {
    cert: server.cert,
    key: server.key,
    minVersion: "1.2",
    ca,
    verifyClient: false,
  });
  assert.equal(loaded.external.sip[1]?.proto, "tls");

  const cases: [string, string, RegExp][] = [
    ["expired", lines(expired.cert, expired.key), /^edge\.toml:6: .*tls\.cert: .* expired on /],
    ["missing", lines(`${dir}/none.pem`, server.key), /^edge\.toml:6: .*cannot read/],
    ["not a certificate", lines(server.key, server.key), /:6: .*holds no PEM certificate/],
    [
      "another's key",
      lines(server.cert, client.key),
      /^edge\.toml:7: .*tls\.key: .* is not the key/,
    ],
    ["CA unreadable", lines(server.cert, server.key, `ca = "${dir}/no-ca.pem"`), /:8: .*tls\.ca/],
  ];
  for (const [what, body, expected] of cases) {
    const error = await refusal(dir, config(body));
    assert.equal(error.code, CONFIG_ERROR_CODE.badTls, what);
    assert.match(error.message.replace(`${dir}/`, ""), expected, what);
  }
});

Deno.test("loadConfig() refuses a tls: socket without certificates, and verify_client without ca", () => {
  const refused = (text: string) => {
    try {
      loadConfig(text, "edge.toml");
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return assert.fail("expected a ConfigError");
  };
  assert.match(
    refused(config("").replace("[interfaces.external.tls]\n", "")),
    /^edge\.toml:3: interfaces\.external\.sip\[1\]: a tls: socket needs \[interfaces\.external\.tls\]/,
  );
  assert.match(
    refused(config('cert = "a.pem"')),
    /^edge\.toml:5: interfaces\.external\.tls: key is missing/,
  );
  assert.match(
    refused(config('cert = "a.pem"\nkey = "a.key"\nverify_client = true')),
    /^edge\.toml:8: interfaces\.external\.tls\.verify_client: verify_client needs ca/,
  );
  assert.match(
    refused(config('cert = "a.pem"\nkey = "a.key"\nmin_version = "1.1"')),
    /^edge\.toml:8: interfaces\.external\.tls\.min_version: "1\.1": use "1\.2" or "1\.3"/,
  );
});
