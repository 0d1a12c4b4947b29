import assert from "node:assert/strict";
import { KSR_ROWS } from "../../../sbc/script/ksr.ts";
import { PV_ROWS } from "../../../sbc/script/ksr_pv.ts";
import {
  DOCS_BEGIN,
  DOCS_END,
  renderScriptingDocs,
  replaceGenerated,
} from "../../../sbc/script/script_docs.ts";

const PAGE = new URL("../../../docs/scripting.md", import.meta.url);

Deno.test("renderScriptingDocs() matches the generated part of docs/scripting.md", async () => {
  const page = await Deno.readTextFile(PAGE);
  const begin = page.indexOf(DOCS_BEGIN);
  const end = page.indexOf(DOCS_END);
  assert.ok(begin >= 0 && end > begin, "the page has both markers");
  assert.equal(
    page.slice(begin + DOCS_BEGIN.length, end).trim(),
    renderScriptingDocs(),
    "docs/scripting.md is stale: run " +
      "`deno run --allow-read --allow-write sbc/script/script_docs.ts docs/scripting.md`",
  );
  assert.equal(replaceGenerated(page, renderScriptingDocs()), page);
});

Deno.test("renderScriptingDocs() lists every KSR function and pseudo-variable", () => {
  const docs = renderScriptingDocs();
  for (const row of KSR_ROWS) {
    const name = row.module === "" ? `KSR.${row.name}(` : `KSR.${row.module}.${row.name}(`;
    assert.ok(docs.includes(name), name);
    for (const [code] of row.codes ?? []) assert.ok(docs.includes(`${code}: `), `${name} ${code}`);
  }
  for (const pv of PV_ROWS) assert.ok(docs.includes(`\`${pv.name}\``), pv.name);
});
