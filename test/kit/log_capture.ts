/**
 * Log records captured for the length of a test: `using logs = captureLogs()` sends edgesbc's
 * records to memory, and leaving the scope puts back the logtape configuration that was in force
 * (none, in a unit test, so logging stays off between tests).
 *
 * @module
 */
import {
  configureSync,
  getConfig,
  type LogLevel,
  type LogRecord,
  resetSync,
} from "@logtape/logtape";

export interface CaptureOptions {
  /** Logger category captured, with its descendants; default `["edgesbc"]`. */
  readonly category?: readonly string[];
  /** Lowest level captured; default "debug". */
  readonly level?: LogLevel;
}

/** Records captured so far; disposing it ends the capture. */
export interface LogCapture extends Disposable {
  /** Every record since the capture began (or since the last `take()`). */
  readonly records: readonly LogRecord[];
  /** The messages of `records`, rendered as one line each, and forgets them. */
  take(): string[];
}

/** The message of a record with its values filled in. */
export function render(record: LogRecord): string {
  return record.message.map((part) => String(part)).join("");
}

/** Captures log records until disposed; logtape's previous configuration then comes back. */
export function captureLogs(options: CaptureOptions = {}): LogCapture {
  const previous = getConfig();
  const records: LogRecord[] = [];
  configureSync({
    reset: true,
    sinks: { memory: (record) => void records.push(record) },
    loggers: [
      {
        category: [...(options.category ?? ["edgesbc"])],
        lowestLevel: options.level ?? "debug",
        sinks: ["memory"],
      },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  return {
    records,
    take() {
      return records.splice(0).map(render);
    },
    [Symbol.dispose]() {
      if (previous === null) resetSync();
      else configureSync({ ...previous, reset: true });
    },
  };
}
