/**
 * Process-wide log output, via logtape: every record at or above EDGESBC_LOG, in the
 * EDGESBC_LOG_FORMAT, one line each, all of them on stderr. One stream because an operator's
 * pipe or journal should see warnings in order with the rest (logtape's console sink sends info
 * to stdout and warnings to stderr); stderr because stdout carries the commands' output
 * (`check`, `import`, `ctl`).
 */
import { configure, type LogLevel } from "@logtape/logtape";
import { formatJson, formatText } from "./log_format.ts";

/** EDGESBC_LOG values and the logtape level each one means. */
const LEVELS: Readonly<Record<string, LogLevel>> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  warning: "warning",
  error: "error",
};
const FORMATS = { text: formatText, json: formatJson } as const;
export type LogFormat = keyof typeof FORMATS;

export interface LogSettings {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

export type LogSettingsResult =
  | { readonly ok: true; readonly value: LogSettings }
  | { readonly ok: false; readonly error: string };

/** Reads EDGESBC_LOG and EDGESBC_LOG_FORMAT (unset or empty: info, text); refuses unknown names. */
export function logSettings(env: (name: string) => string | undefined): LogSettingsResult {
  const levelName = env("EDGESBC_LOG") || "info";
  const level = LEVELS[levelName.toLowerCase()];
  if (level === undefined) {
    return {
      ok: false,
      error: `EDGESBC_LOG "${levelName}" is not a log level (debug, info, warn, error)`,
    };
  }
  const formatName = env("EDGESBC_LOG_FORMAT") || "text";
  const format = formatName.toLowerCase();
  if (!Object.hasOwn(FORMATS, format)) {
    return {
      ok: false,
      error: `EDGESBC_LOG_FORMAT "${formatName}" is not a log format (text, json)`,
    };
  }
  return { ok: true, value: { level, format: format as LogFormat } };
}

const encoder = new TextEncoder();

/** Writes a whole line to stderr at once, so lines never interleave. */
function writeStderr(line: string): void {
  const bytes = encoder.encode(line);
  try {
    for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
  } catch {
    // stderr closed: nowhere left to say so.
  }
}

/** Sends edgesbc's records at `settings.level` and above to `write` (default: stderr). */
export async function setupLogging(
  settings: LogSettings,
  write: (line: string) => void = writeStderr,
): Promise<void> {
  const format = FORMATS[settings.format];
  await configure({
    reset: true,
    sinks: { out: (record) => write(format(record)) },
    loggers: [
      { category: ["edgesbc"], lowestLevel: settings.level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}
