// The admin API behind a bearer token (issue "No outsider can take ... the SBC's resources"):
// on every address (0.0.0.0) it answers 401 without the token, the wrong one or a Basic
// credential, serves with it, leaves /metrics open only when metrics_open says so, and
// `ctl -c FILE` reads the token file and gets through.
import assert from "node:assert/strict";
import { ADDRESS, sbcConfig, usingPorts, withSbc } from "./_harness.ts";
import { runMain } from "../kit/run_main.ts";

const TOKEN = "e2e-admin-token-0123456789abcdef";

Deno.test("the admin API on a wildcard address needs its token; ctl -c FILE sends it", async () => {
  const ports = usingPorts(63);
  const dir = await Deno.makeTempDir({ prefix: "edgesbc-e2e-admin-" });
  try {
    const tokenFile = `${dir}/admin.token`;
    await Deno.writeTextFile(tokenFile, `${TOKEN}\n`);
    const configToml = sbcConfig(ports).replace(
      `listen = "${ADDRESS.admin}:${ports.admin}"`,
      `listen = "0.0.0.0:${ports.admin}"\ntoken_file = "${tokenFile}"\nmetrics_open = true`,
    );
    assert.match(configToml, /token_file/);
    // Without the token, `check` refuses this listener.
    const configPath = `${dir}/edge.toml`;
    await Deno.writeTextFile(configPath, configToml.replace(/token_file = .*\n/, ""));
    const refused = await runMain(["check", "-c", configPath]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /admin\.listen: .* has no token/);

    await Deno.writeTextFile(configPath, configToml);
    await withSbc({ ports, configToml }, async () => {
      const url = (path: string) => `http://127.0.0.1:${ports.admin}${path}`;
      for (
        const authorization of [undefined, "Bearer not-the-token-0123456789", `Basic ${TOKEN}`]
      ) {
        const res = await fetch(url("/api/stats"), {
          ...(authorization && { headers: { authorization } }),
        });
        assert.equal(res.status, 401, `${authorization}`);
        await res.body?.cancel();
      }
      const reload = await fetch(url("/api/reload"), { method: "POST" });
      assert.equal(reload.status, 401);
      await reload.body?.cancel();
      const ok = await fetch(url("/api/stats"), { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.status, 200);
      assert.ok("sip" in await ok.json());
      const metrics = await fetch(url("/metrics"));
      assert.equal(metrics.status, 200, "metrics_open");
      assert.match(await metrics.text(), /edgesbc_sip_requests_total/);

      const ctl = await runMain(["ctl", "stats", "-c", configPath]);
      assert.equal(ctl.code, 0, ctl.stderr);
      assert.ok("sip" in JSON.parse(ctl.stdout));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
