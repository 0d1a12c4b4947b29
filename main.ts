/**
 * edgesbc command line: parses arguments and calls into config/ and sbc/; nothing imports it.
 *
 * Exit status: 0 success, 1 failure, 2 usage error or refused config, 3 instance unreachable
 * (`ctl`).
 */

import { parseArgs } from "node:util";
import { defaultConfig } from "./config/default.ts";
import { describeConfig } from "./config/describe.ts";
import { importKamailio } from "./config/kamailio/import_kamailio.ts";
import { ConfigError, loadConfigFile, readConfigFile } from "./config/load.ts";
import { formatHostPort, parseHostPort } from "./config/socket_address.ts";
import { ADMIN_COMMANDS, type AdminCommand, adminRequest } from "./sbc/admin/admin_client.ts";
import { readAdminToken } from "./sbc/admin/admin_token.ts";
import { buildInfo, versionText } from "./sbc/admin/build_info.ts";
import { logSettings } from "./sbc/logging.ts";
import { loadScript } from "./sbc/script/script.ts";
import { runSbc } from "./sbc/start_sbc.ts";

const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3 } as const;

const COMMAND_USAGE = {
  run: "edgesbc run [-c FILE]",
  check: "edgesbc check -c FILE",
  import: 'edgesbc import --kamailio CFG [--rtpproxy "ARGS" | --rtpproxy-file FILE]',
  ctl: "edgesbc ctl stats|calls|reload [--admin HOST:PORT | -c FILE]",
} as const;
type Command = keyof typeof COMMAND_USAGE;

/** Where `edgesbc ctl` looks without --admin or -c: the default config's admin.listen. */
const DEFAULT_ADMIN = { host: "127.0.0.1", port: 8089 } as const;

// A usage longer than the column gets its description on the next line.
const commandLine = (usage: string, description: string) =>
  usage.length < 52
    ? `  ${usage.padEnd(52)}${description}`
    : `  ${usage}\n  ${"".padEnd(52)}${description}`;
const USAGE = `Usage: edgesbc COMMAND [options]

Commands:
${commandLine(COMMAND_USAGE.run, "run the SBC on FILE (TOML), or the embedded default")}
${commandLine(COMMAND_USAGE.check, "validate FILE and print the resolved config")}
${commandLine(COMMAND_USAGE.import, "print an equivalent TOML config")}
${commandLine(COMMAND_USAGE.ctl, "ask a running instance")}

Options:
  -h, --help  show this help
  --version   print the version of edgesbc, the commit, Deno and V8

Exit status: 0 success, 1 failure, 2 usage error or refused config, 3 instance unreachable.`;

async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (command === "--version") {
    console.log(versionText(buildInfo()));
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
      // Refused before anything is read or bound: a typo must not start a silent SBC.
      const logging = logSettings(readEnv);
      if (!logging.ok) {
        console.error(`edgesbc: ${logging.error}`);
        return EXIT.usage;
      }
      if (values.config === undefined) return await runSbc(defaultConfig(), logging.value);
      const { config, sha256 } = await readConfigFile(values.config);
      return await runSbc(config, logging.value, { file: values.config, sha256 });
    }
    case "check": {
      const { values } = parseArgs({
        args: [...args],
        options: { ...help, config: { type: "string", short: "c" } },
      });
      if (values.help) return commandHelp(command);
      if (values.config === undefined) return usageError("-c FILE is required", command);
      const config = await loadConfigFile(values.config);
      const script = config.routing.script;
      if (script !== undefined) {
        // The script is part of the config: a check that passes must mean it loads.
        const loaded = await loadScript(script);
        if (!loaded.ok) {
          console.error(`${values.config}: routing.script: ${loaded.error}`);
          return EXIT.usage;
        }
      }
      console.log(describeConfig(config).trimEnd());
      return EXIT.ok;
    }
    case "import": {
      const { values } = parseArgs({
        args: joinOptionValue(args, "--rtpproxy"),
        options: {
          ...help,
          kamailio: { type: "string" },
          rtpproxy: { type: "string" },
          "rtpproxy-file": { type: "string" },
        },
      });
      if (values.help) return commandHelp(command);
      if (values.kamailio === undefined) return usageError("--kamailio CFG is required", command);
      if (values.rtpproxy !== undefined && values["rtpproxy-file"] !== undefined) {
        return usageError("use --rtpproxy or --rtpproxy-file, not both", command);
      }
      const cfg = await readInput(values.kamailio);
      if (cfg === undefined) return EXIT.usage;
      let rtpproxy = values.rtpproxy;
      if (values["rtpproxy-file"] !== undefined) {
        rtpproxy = await readInput(values["rtpproxy-file"]);
        if (rtpproxy === undefined) return EXIT.usage;
      }
      const result = importKamailio(cfg, rtpproxy);
      console.log(result.toml.trimEnd());
      for (const warning of result.warnings) console.error(`edgesbc import: ${warning}`);
      return EXIT.ok;
    }
    case "ctl": {
      const { values, positionals } = parseArgs({
        args: [...args],
        options: { ...help, admin: { type: "string" }, config: { type: "string", short: "c" } },
        allowPositionals: true,
      });
      if (values.help) return commandHelp(command);
      const [ctlCommand, ...extra] = positionals;
      if (ctlCommand === undefined) return usageError("a ctl command is required", command);
      if (!isAdminCommand(ctlCommand)) {
        return usageError(`unknown ctl command "${ctlCommand}"`, command);
      }
      if (extra.length > 0) return usageError(`unexpected argument "${extra[0]}"`, command);
      if (values.admin !== undefined && values.config !== undefined) {
        return usageError("use --admin or -c, not both", command);
      }
      let listen: { host: string; port: number } = DEFAULT_ADMIN;
      let token: string | undefined;
      if (values.admin !== undefined) {
        const parsed = parseHostPort(values.admin);
        if (!parsed.ok) return usageError(`--admin "${values.admin}": ${parsed.error}`, command);
        listen = parsed.value;
      } else if (values.config !== undefined) {
        const config = await loadConfigFile(values.config);
        if (config.admin.listen === undefined) {
          console.error(
            `edgesbc ctl: ${values.config} has no admin.listen: the instance has no admin API ` +
              `(or pass --admin HOST:PORT)`,
          );
          return EXIT.failure;
        }
        listen = config.admin.listen;
        if (config.admin.tokenFile !== undefined) {
          try {
            token = await readAdminToken(config.admin.tokenFile);
          } catch (err) {
            console.error(`edgesbc ctl: ${(err as Error).message}`);
            return EXIT.failure;
          }
        }
      }
      const result = await adminRequest(listen, ctlCommand, { ...(token && { token }) });
      if (!result.ok) {
        console.error(`edgesbc ctl: ${result.message}`);
        return EXIT.unreachable;
      }
      console.log(result.body.trimEnd());
      if (result.status >= 200 && result.status < 300) return EXIT.ok;
      const { method, path } = ADMIN_COMMANDS[ctlCommand];
      console.error(
        `edgesbc ctl: ${method} ${path} on ${formatHostPort(listen)} answered ${result.status}`,
      );
      return EXIT.failure;
    }
  }
}

// node:util parseArgs refuses "--rtpproxy -l a/b" (a value that looks like an option), so the
// value after the option is joined to it: "--rtpproxy=-l a/b".
function joinOptionValue(args: readonly string[], option: string): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === option && i + 1 < args.length) joined.push(`${option}=${args[++i]}`);
    else joined.push(args[i]!);
  }
  return joined;
}

// A variable the process may not read (--allow-env with a list) counts as unset.
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

// An input file that cannot be read is a usage error: the command never started.
async function readInput(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`${path}: cannot read: ${reason}`);
    return undefined;
  }
}

function isAdminCommand(name: string): name is AdminCommand {
  return Object.hasOwn(ADMIN_COMMANDS, name);
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
