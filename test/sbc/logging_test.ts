import assert from "node:assert/strict";
import { getLogger, reset } from "@logtape/logtape";
import { formatJson, formatText } from "../../sbc/log_format.ts";
import { logSettings, setupLogging } from "../../sbc/logging.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("logSettings() defaults to info and text", () => {
  assert.deepEqual(logSettings(env({})), { ok: true, value: { level: "info", format: "text" } });
  assert.deepEqual(logSettings(env({ EDGESBC_LOG: "" })), {
    ok: true,
    value: { level: "info", format: "text" },
  });
});

Deno.test("logSettings() accepts debug, info, warn, warning and error, in any case", () => {
  const level = (name: string) => {
    const result = logSettings(env({ EDGESBC_LOG: name }));
    return result.ok ? result.value.level : result.error;
  };
  assert.equal(level("debug"), "debug");
  assert.equal(level("info"), "info");
  assert.equal(level("warn"), "warning");
  assert.equal(level("warning"), "warning");
  assert.equal(level("error"), "error");
  assert.equal(level("WARN"), "warning");
});

Deno.test("logSettings() refuses any other level with one line naming the accepted ones", () => {
  assert.deepEqual(logSettings(env({ EDGESBC_LOG: "verbose" })), {
    ok: false,
    error: 'EDGESBC_LOG "verbose" is not a log level (debug, info, warn, error)',
  });
  assert.equal(logSettings(env({ EDGESBC_LOG: "trace" })).ok, false);
});

Deno.test("logSettings() accepts EDGESBC_LOG_FORMAT text and json, nothing else", () => {
  const json = logSettings(env({ EDGESBC_LOG_FORMAT: "json", EDGESBC_LOG: "warn" }));
  assert.deepEqual(json, { ok: true, value: { level: "warning", format: "json" } });
  assert.deepEqual(logSettings(env({ EDGESBC_LOG_FORMAT: "xml" })), {
    ok: false,
    error: 'EDGESBC_LOG_FORMAT "xml" is not a log format (text, json)',
  });
});

const RECORD = {
  category: ["edgesbc", "admin"],
  level: "info",
  message: ["Admin API on http://", "127.0.0.1", ":", 8089, ""],
  rawMessage: "Admin API on http://{host}:{port}",
  timestamp: Date.UTC(2026, 10, 29, 16, 39, 34, 2),
  properties: { host: "127.0.0.1", port: 8089 },
} as const;

Deno.test("formatText() writes one line: time, level, category, message with strings unquoted", () => {
  assert.equal(
    formatText(RECORD),
    "2026-11-29T16:39:34.002Z INFO  edgesbc.admin: Admin API on http://127.0.0.1:8089\n",
  );
});

Deno.test("formatText() keeps a record on one line and renders other values readably", () => {
  const line = formatText({
    ...RECORD,
    level: "warning",
    message: ["a ", "two\nlines", " b ", new Error("boom"), " c ", ["x", 1], " d ", null, ""],
  });
  assert.equal(
    line,
    '2026-11-29T16:39:34.002Z WARN  edgesbc.admin: a two\\nlines b boom c ["x",1] d -\n',
  );
});

Deno.test("formatJson() writes one object per line with the properties as top-level keys", () => {
  const line = formatJson({ ...RECORD, properties: { ...RECORD.properties, level: "shadowed" } });
  assert.ok(line.endsWith("}\n") && !line.slice(0, -1).includes("\n"));
  assert.deepEqual(JSON.parse(line), {
    timestamp: "2026-11-29T16:39:34.002Z",
    level: "info",
    category: "edgesbc.admin",
    message: "Admin API on http://127.0.0.1:8089",
    host: "127.0.0.1",
    port: 8089,
  });
  const warn = JSON.parse(
    formatJson({ ...RECORD, level: "warning", properties: { e: new Error("x") } }),
  );
  assert.equal(warn.level, "warn");
  assert.equal(warn.e, "x");
});

Deno.test("setupLogging() sends every level at or above the threshold to one writer", async () => {
  const lines: string[] = [];
  await setupLogging({ level: "warning", format: "json" }, (line) => lines.push(line));
  try {
    const log = getLogger(["edgesbc", "test"]);
    log.debug("d");
    log.info("i");
    log.warn("w {n}", { n: 1 });
    log.error("e");
    assert.deepEqual(lines.map((l) => JSON.parse(l).message), ["w 1", "e"]);
  } finally {
    await reset();
  }
});
