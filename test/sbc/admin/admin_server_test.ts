import assert from "node:assert/strict";
import { type AdminSource, handleAdmin } from "../../../sbc/admin/admin_server.ts";
import { readAdminToken } from "../../../sbc/admin/admin_token.ts";

const SOURCE: AdminSource = {
  stats: () => ({ ok: true }),
  calls: () => [],
  metrics: () => "edgesbc_up 1\n",
  reload: () => Promise.resolve({ ok: true, message: "reloaded" }),
};
const TOKEN = "s3cret-token-0123456789";

function get(path: string, authorization?: string, method = "GET"): Request {
  return new Request(`http://127.0.0.1:8089${path}`, {
    method,
    ...(authorization !== undefined && { headers: { authorization } }),
  });
}

Deno.test("handleAdmin() with a token answers 401 without it or with another, and serves with it", async () => {
  const access = { token: TOKEN, metricsOpen: false };
  for (const auth of [undefined, "Bearer wrong-token-0123456789", `Basic ${TOKEN}`, "Bearer "]) {
    for (
      const [path, method] of [["/api/stats", "GET"], ["/metrics", "GET"], ["/api/reload", "POST"]]
    ) {
      const res = await handleAdmin(get(path!, auth, method), SOURCE, access);
      assert.equal(res.status, 401, `${method} ${path} with ${auth}`);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="edgesbc"');
      await res.body?.cancel();
    }
  }
  const ok = await handleAdmin(get("/api/stats", `Bearer ${TOKEN}`), SOURCE, access);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { ok: true });
});

Deno.test("handleAdmin() leaves /metrics open with metrics_open, and only it", async () => {
  const access = { token: TOKEN, metricsOpen: true };
  const metrics = await handleAdmin(get("/metrics"), SOURCE, access);
  assert.equal(metrics.status, 200);
  assert.equal(await metrics.text(), "edgesbc_up 1\n");
  const stats = await handleAdmin(get("/api/stats"), SOURCE, access);
  assert.equal(stats.status, 401);
  await stats.body?.cancel();
});

Deno.test("readAdminToken() takes the first line and refuses a short token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/good`, `  ${TOKEN}  \nsecond line\n`);
    assert.equal(await readAdminToken(`${dir}/good`), TOKEN);
    await Deno.writeTextFile(`${dir}/short`, "short\n");
    await assert.rejects(readAdminToken(`${dir}/short`), /at least 16 characters/);
    await assert.rejects(readAdminToken(`${dir}/missing`), /Cannot read admin token file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
