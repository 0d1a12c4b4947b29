// startSbc() in process on loopback (port block 42): what the admin API says about the build.
import assert from "node:assert/strict";
import { loadConfig } from "../../config/load.ts";
import { buildInfo } from "../../sbc/admin/build_info.ts";
import { startSbc } from "../../sbc/start_sbc.ts";
import { ADDRESS, sbcConfig, usingPorts } from "../e2e/_harness.ts";

Deno.test("the admin API reports the build: a build object in /api/stats, edgesbc_build_info in /metrics", async () => {
  const ports = usingPorts(42);
  const sbc = await startSbc(loadConfig(sbcConfig(ports), "<test>"));
  try {
    const admin = `http://${ADDRESS.admin}:${ports.admin}`;
    const stats = await (await fetch(`${admin}/api/stats`)).json();
    const build = buildInfo();
    assert.deepEqual(stats.build, build);
    assert.match(build.commit, /^([0-9a-f]{40}|unknown)$/);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.ok(
      metrics.includes(
        "# TYPE edgesbc_build_info gauge\n" +
          `edgesbc_build_info{version="${build.version}",commit="${build.commit}",` +
          `deno="${Deno.version.deno}"} 1\n`,
      ),
      metrics,
    );
  } finally {
    await sbc.stop();
  }
});
