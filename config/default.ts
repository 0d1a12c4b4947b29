/**
 * The embedded default config: both sides on loopback, so `deno task start` runs with no file and
 * the end-to-end tests can put sipp on 127.0.1.x (outside) and 127.0.2.x (PBX side).
 */

import type { Config } from "./config.ts";
import { loadConfig } from "./load.ts";

/** The default config as TOML; also shown in docs/configuration.md. */
export const DEFAULT_CONFIG_TOML = `# edgesbc default configuration: loopback only
[interfaces.external]
role = "external"
sip = ["udp:127.0.1.1:5060", "tcp:127.0.1.1:5060"]
media = "127.0.1.1"

[interfaces.internal]
role = "internal"
sip = ["udp:127.0.2.1:5060", "tcp:127.0.2.1:5060"]
media = "127.0.2.1"

[media]
ports = [10000, 20000]
timeout = 60

[pbx]
address = "udp:127.0.2.10:5060"

[admin]
listen = "127.0.0.1:8089"
`;

/** The source name the default config reports in messages and `Config.source`. */
export const DEFAULT_CONFIG_SOURCE = "<default>";

/** The resolved default config. */
export function defaultConfig(): Config {
  return loadConfig(DEFAULT_CONFIG_TOML, DEFAULT_CONFIG_SOURCE);
}
