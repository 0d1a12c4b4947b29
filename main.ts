/**
 * edgesbc command line: parses arguments and calls into config/ and sbc/; nothing imports it.
 *
 * Exit status: 0 success, 1 failure, 2 usage error or refused config.
 */

import { parseArgs } from "node:util";
import type { Config } from "./config/config.ts";
import { defaultConfig } from "./config/default.ts";
import { describeConfig } from "./config/describe.ts";
import { ConfigError, loadConfigFile } from "./config/load.ts";
import { runSbc } from "./sbc/server.ts";

const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const COMMAND_USAGE = {
  run: "edgesbc run [-c FILE]",
  check: "edgesbc check -c FILE",
  import: 'edgesbc import --kamailio CFG [--rtpproxy="ARGS"]',
  ctl: "edgesbc ctl stats|calls|reload [--admin HOST:PORT]",
} as const;
type Command = keyof typeof COMMAND_USAGE;

const CTL_COMMANDS = ["stats", "calls", "reload"];

const USAGE = `Usage: edgesbc COMMAND [options]

Commands:
  ${COMMAND_USAGE.run.padEnd(52)}run the SBC on FILE (TOML), or the embedded default
  ${COMMAND_USAGE.check.padEnd(52)}validate FILE and print the resolved config
  ${COMMAND_USAGE.import.padEnd(52)}print an equivalent TOML config
  ${COMMAND_USAGE.ctl.padEnd(52)}ask a running instance

Options:
  -h, --help  show this help

Exit status: 0 success, 1 failure, 2 usage error or refused config.`;

async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (command === undefined) return usageError("a command is required", undefined);
  if (!isCommand(command)) return usageError(`unknown command "${command}"`, undefined);
  try {
    return await runCommand(command, rest);
  } catch (error) {
    if (isParseArgsError(error)) return usageError(error.message, command);
    if (error instanceof ConfigError) {
      console.error(error.message);
      return EXIT.usage;
    }
    throw error;
  }
}

async function runCommand(command: Command, args: readonly string[]): Promise<number> {
  const help = { help: { type: "boolean", short: "h" } } as const;
  switch (command) {
    case "run": {
      const { values } = parseArgs({
        args: [...args],
        options: { ...help, config: { type: "string", short: "c" } },
      });
      if (values.help) return commandHelp(command);
      const config: Config = values.config === undefined
        ? defaultConfig()
        : await loadConfigFile(values.config);
      return await runSbc(config);
    }
    case "check": {
      const { values } = parseArgs({
        args: [...args],
        options: { ...help, config: { type: "string", short: "c" } },
      });
      if (values.help) return commandHelp(command);
      if (values.config === undefined) return usageError("-c FILE is required", command);
      const config = await loadConfigFile(values.config);
      console.log(describeConfig(config).trimEnd());
      return EXIT.ok;
    }
    case "import": {
      const { values } = parseArgs({
        args: [...args],
        options: { ...help, kamailio: { type: "string" }, rtpproxy: { type: "string" } },
      });
      if (values.help) return commandHelp(command);
      if (values.kamailio === undefined) return usageError("--kamailio CFG is required", command);
      console.error("edgesbc import: not implemented yet");
      return EXIT.failure;
    }
    case "ctl": {
      const { values, positionals } = parseArgs({
        args: [...args],
        options: { ...help, admin: { type: "string" } },
        allowPositionals: true,
      });
      if (values.help) return commandHelp(command);
      const [ctlCommand, ...extra] = positionals;
      if (ctlCommand === undefined) return usageError("a ctl command is required", command);
      if (!CTL_COMMANDS.includes(ctlCommand)) {
        return usageError(`unknown ctl command "${ctlCommand}"`, command);
      }
      if (extra.length > 0) return usageError(`unexpected argument "${extra[0]}"`, command);
      console.error("edgesbc ctl: not implemented yet");
      return EXIT.failure;
    }
  }
}

function isCommand(name: string): name is Command {
  return Object.hasOwn(COMMAND_USAGE, name);
}

function commandHelp(command: Command): number {
  console.log(`Usage: ${COMMAND_USAGE[command]}`);
  return EXIT.ok;
}

function usageError(message: string, command: Command | undefined): number {
  const usage = command === undefined
    ? "Usage: edgesbc run|check|import|ctl [options] (edgesbc --help for more)"
    : `Usage: ${COMMAND_USAGE[command]}`;
  console.error(`edgesbc: ${message}\n${usage}`);
  return EXIT.usage;
}

// node:util parseArgs reports bad arguments as a TypeError with an ERR_PARSE_ARGS_* code.
function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error &&
    String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS_");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
