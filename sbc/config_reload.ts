/**
 * What a reload (SIGHUP, `ctl reload`, `POST /api/reload`) may change in the running config.
 * Sockets, addresses and what was sized from them at start cannot change without a restart: a
 * reload that changes one of them is refused, naming each such key, and changes nothing.
 * Everything else is applied to new calls and messages (start_sbc.ts); a call in progress keeps
 * its media ports and addresses.
 *
 * @module
 */
import type { Config, InterfaceConfig } from "../config/config.ts";

/** Keys of an interface that are bound at start: its sockets, addresses and what hides it. */
const INTERFACE_KEYS: readonly (readonly [string, (i: InterfaceConfig) => unknown])[] = [
  ["role", (i) => i.role],
  ["sip", (i) => i.sip],
  ["media", (i) => i.media],
  ["advertise", (i) => i.advertise],
  ["networks", (i) => i.networks.map((n) => n.text)],
  ["topology_hiding", (i) => i.topologyHiding],
  ["server_header", (i) => i.serverHeader],
];

/** Other keys sized or bound at start. */
const TOP_KEYS: readonly (readonly [string, (c: Config) => unknown])[] = [
  ["media.ports", (c) => c.media.ports],
  ["sip.max_tcp_connections", (c) => c.sip.maxTcpConnections],
  ["admin.listen", (c) => c.admin.listen],
  ["admin.token_file", (c) => c.admin.tokenFile],
  ["admin.metrics_open", (c) => c.admin.metricsOpen],
];

/** The keys `next` changes that cannot change live, in the file's terms; empty: it may load. */
export function refusedChanges(running: Config, next: Config): string[] {
  const refused: string[] = [];
  const differ = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  for (const side of ["external", "internal"] as const) {
    const [was, now] = [running[side], next[side]];
    if (was.name !== now.name) refused.push(`interfaces.${now.name} (was interfaces.${was.name})`);
    for (const [key, read] of INTERFACE_KEYS) {
      if (differ(read(was), read(now))) refused.push(`interfaces.${now.name}.${key}`);
    }
  }
  for (const [key, read] of TOP_KEYS) if (differ(read(running), read(next))) refused.push(key);
  return refused;
}
