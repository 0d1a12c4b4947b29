/**
 * The client side of the admin HTTP API (sbc/admin/admin_server.ts), for `edgesbc ctl`: one request per
 * command, the body returned as text. A failure to connect is a result value, not a throw.
 */

import { formatHostPort } from "../../config/socket_address.ts";

/** The commands `edgesbc ctl` knows, with the request each one makes. */
export const ADMIN_COMMANDS = {
  stats: { method: "GET", path: "/api/stats" },
  calls: { method: "GET", path: "/api/calls" },
  reload: { method: "POST", path: "/api/reload" },
} as const;
export type AdminCommand = keyof typeof ADMIN_COMMANDS;

/** An answer (any HTTP status), or why there was none. */
export type AdminResult =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly code: "ADMIN_UNREACHABLE"; readonly message: string };

export interface AdminRequestOptions {
  /** Milliseconds to wait for the answer; default 5000. */
  readonly timeoutMs?: number;
  /** The admin API's bearer token (`admin.token_file`), when it has one. */
  readonly token?: string;
}

/**
 * Send one admin command to a running instance and read the whole answer.
 *
 * @param listen The instance's `admin.listen`; a wildcard host is reached over loopback.
 * @example
 * ```ts ignore
 * import { adminRequest } from "./admin_client.ts";
 * const result = await adminRequest({ host: "127.0.0.1", port: 8089 }, "stats");
 * if (result.ok) console.log(result.status, result.body);
 * ```
 */
export async function adminRequest(
  listen: { readonly host: string; readonly port: number },
  command: AdminCommand,
  options: AdminRequestOptions = {},
): Promise<AdminResult> {
  const { method, path } = ADMIN_COMMANDS[command];
  // A listener on every address answers on loopback too.
  const host = listen.host === "0.0.0.0" ? "127.0.0.1" : listen.host === "::" ? "::1" : listen.host;
  const url = `http://${formatHostPort({ host, port: listen.port })}${path}`;
  try {
    const response = await fetch(url, {
      method,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      ...(options.token !== undefined && { headers: { authorization: `Bearer ${options.token}` } }),
    });
    return { ok: true, status: response.status, body: await response.text() };
  } catch (error) {
    // fetch() wraps the socket error ("Connection refused") in its cause.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return {
      ok: false,
      code: "ADMIN_UNREACHABLE",
      message: `Cannot reach the admin API at ${url}: ${reason}`,
    };
  }
}
