/**
 * How a log record becomes one line: `text` for people (time, level, category, message) and `json`
 * for log shippers (one object per line, the record's properties as top-level keys). Pure.
 *
 * @module
 */
import type { LogLevel, LogRecord } from "@logtape/logtape";

/** The names operators set in EDGESBC_LOG; logtape says "warning" where they say "warn". */
const LEVEL_NAME: Record<LogLevel, string> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warning: "warn",
  error: "error",
  fatal: "fatal",
};

/** A value inside a text message: strings bare (logtape's own formatter quotes them). */
function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "-";
  if (value instanceof Error) return value.message;
  if (typeof value === "object") return JSON.stringify(value, jsonValue);
  return String(value);
}

/** JSON.stringify replacer: errors by message, bigints as strings. */
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** The message with its values filled in, on one line. */
function renderMessage(record: LogRecord): string {
  let text = "";
  record.message.forEach((part, i) => text += i % 2 === 0 ? part as string : renderValue(part));
  return text.replace(/\r?\n/g, "\\n");
}

/** `2026-11-29T16:39:34.002Z INFO  edgesbc.call: message` and a newline. */
export function formatText(record: LogRecord): string {
  const level = LEVEL_NAME[record.level].toUpperCase().padEnd(5);
  const time = new Date(record.timestamp).toISOString();
  return `${time} ${level} ${record.category.join(".")}: ${renderMessage(record)}\n`;
}

/** `{"timestamp":…,"level":…,"category":…,"message":…,…properties}` and a newline. */
export function formatJson(record: LogRecord): string {
  const line: Record<string, unknown> = {
    timestamp: new Date(record.timestamp).toISOString(),
    level: LEVEL_NAME[record.level],
    category: record.category.join("."),
    message: renderMessage(record),
  };
  // The four keys above come first and a property never replaces one of them.
  for (const [key, value] of Object.entries(record.properties)) {
    if (!Object.hasOwn(line, key)) line[key] = value;
  }
  return JSON.stringify(line, jsonValue) + "\n";
}
