/** Process-wide log output: one line per event on stderr, via logtape. */
import { configure, getConsoleSink, type LogLevel } from "@logtape/logtape";

/** Sends edgesbc's log records at `level` and above to the console (stderr). */
export async function setupLogging(level: LogLevel = "info"): Promise<void> {
  await configure({
    reset: true,
    sinks: { console: getConsoleSink() },
    loggers: [
      { category: ["edgesbc"], lowestLevel: level, sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}
