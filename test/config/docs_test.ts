import assert from "node:assert/strict";
import { renderConfigDocs } from "../../config/docs.ts";
import { CONFIG_SCHEMA } from "../../config/schema.ts";

Deno.test("renderConfigDocs() matches docs/configuration.md", async () => {
  const committed = await Deno.readTextFile(
    new URL("../../docs/configuration.md", import.meta.url),
  );
  assert.equal(
    committed,
    renderConfigDocs(),
    "docs/configuration.md is stale: run `deno run config/docs.ts > docs/configuration.md`",
  );
});

Deno.test("renderConfigDocs() lists every schema key", () => {
  const docs = renderConfigDocs();
  for (const row of CONFIG_SCHEMA) assert.ok(docs.includes(`| \`${row.key}\``), row.key);
});
