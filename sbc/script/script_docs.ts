/**
 * The generated part of docs/scripting.md: the KSR function tables and the pseudo-variables,
 * rendered from the same rows that build `KSR`, so the page cannot drift from the code.
 *
 * Refresh the page with `deno run --allow-read --allow-write sbc/script/script_docs.ts docs/scripting.md`;
 * test/sbc/script_docs_test.ts fails when the committed page differs.
 */
import { KSR_ROWS } from "./ksr.ts";
import { PV_ROWS } from "./ksr_pv.ts";
import { KSR_ERROR, ksrLabel, type KsrRow } from "./ksr_row.ts";
import { code, markdownTable } from "../../config/markdown_table.ts";

/** The markers around the generated part of docs/scripting.md. */
export const DOCS_BEGIN = "<!-- ksr:begin -->";
export const DOCS_END = "<!-- ksr:end -->";

const ERROR_DOCS: Readonly<Record<keyof typeof KSR_ERROR, string>> = {
  badArgument: "an argument has the wrong type or an unusable value",
  wrongRoute: "the function is not available in this kind of route",
  noRequest: "called outside a route: at load time, or after an await in a function that is " +
    "not `async`",
  finished: "the request was already relayed (t_relay) or answered in this route",
};

/** Renders the function and variable reference (Markdown, between the markers). */
export function renderScriptingDocs(): string {
  const out: string[] = [
    "### Shared return codes",
    "",
    // Wrapped at 100 columns, as deno fmt wraps Markdown prose.
    "Besides its own codes (listed with each function), every function returning `int` may return these.",
    "Predicates return `false` and getters `null` instead. Each case logs one error line naming the",
    "function.",
    "",
    ...markdownTable(
      ["Code", "Meaning"],
      Object.entries(KSR_ERROR).map(([key, code]) => [
        String(code),
        ERROR_DOCS[key as keyof typeof KSR_ERROR],
      ]),
    ),
  ];
  const modules = [...new Set(KSR_ROWS.map((row) => row.module))];
  for (const module of modules) {
    const rows = KSR_ROWS.filter((row) => row.module === module);
    out.push("", `### ${module === "" ? "KSR" : `KSR.${module}`}`, "");
    out.push(
      ...markdownTable(
        ["Function", "Returns", "Routes", "Kamailio", "Description"],
        rows.map((row) => [
          code(ksrLabel(row).replace("()", `(${row.params.join(", ")})`)),
          row.returns,
          row.routes === "anywhere" ? "any, and load time" : row.routes.join(", "),
          row.kamailio.startsWith("KSR.") ? code(row.kamailio) : row.kamailio,
          describe(row),
        ]),
      ),
    );
  }
  out.push(
    "",
    "### Pseudo-variables",
    "",
    "Read with `KSR.pv.get`, written with `KSR.pv.sets`/`seti` where writable.",
    "",
    ...markdownTable(
      ["Variable", "Writable", "Description"],
      PV_ROWS.map((pv) => [code(pv.name), pv.set ? "yes" : "", pv.doc]),
    ),
  );
  return out.join("\n");
}

function describe(row: KsrRow): string {
  if (!row.codes || row.codes.length === 0) return row.doc;
  return `${row.doc} Returns ${
    row.codes.map(([value, meaning]) => `${value}: ${meaning}`).join("; ")
  }.`;
}

/** Replaces the generated part of a page's text. */
export function replaceGenerated(page: string, generated: string): string {
  const begin = page.indexOf(DOCS_BEGIN);
  const end = page.indexOf(DOCS_END);
  if (begin < 0 || end < begin) {
    throw new Error(
      `Cannot update scripting docs: markers ${DOCS_BEGIN} ... ${DOCS_END} are missing`,
    );
  }
  return `${page.slice(0, begin + DOCS_BEGIN.length)}\n\n${generated}\n\n${page.slice(end)}`;
}

if (import.meta.main) {
  const path = Deno.args[0] ?? "docs/scripting.md";
  const page = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, replaceGenerated(page, renderScriptingDocs()));
}
