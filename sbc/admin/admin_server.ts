/**
 * The admin HTTP listener: GET /api/stats, GET /api/calls, GET /metrics (Prometheus text format)
 * and POST /api/reload. Read-only views of state owned elsewhere, plus the reload trigger.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { getLogger } from "@logtape/logtape";
import { bindError } from "../transport/bind_error.ts";

const log = getLogger(["edgesbc", "admin"]);

/** What the admin API can ask of the running SBC. */
export interface AdminSource {
  stats(): Record<string, unknown>;
  calls(): readonly unknown[];
  /** Prometheus exposition text. */
  metrics(): string;
  reload(): Promise<{ ok: boolean; message: string }>;
}

const JSON_HEADERS = { "content-type": "application/json" };

/** Who may ask: the bearer token every request needs, if any, and what is open without it. */
export interface AdminAccess {
  readonly token: string | undefined;
  /** `/metrics` needs no token. */
  readonly metricsOpen: boolean;
}

const OPEN: AdminAccess = { token: undefined, metricsOpen: true };

/** `Authorization: Bearer <token>` matches, compared in constant time (hashes of equal length). */
export function authorized(req: Request, token: string): boolean {
  const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "")?.[1] ?? "";
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** Answers one admin request; pure routing over the source, so tests can call it directly. */
export async function handleAdmin(
  req: Request,
  source: AdminSource,
  access: AdminAccess = OPEN,
): Promise<Response> {
  const path = new URL(req.url).pathname;
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body, null, 2) + "\n", { status, headers: JSON_HEADERS });
  const open = access.metricsOpen && req.method === "GET" && path === "/metrics";
  if (access.token !== undefined && !open && !authorized(req, access.token)) {
    return new Response(JSON.stringify({ error: "A bearer token is required" }) + "\n", {
      status: 401,
      headers: { ...JSON_HEADERS, "www-authenticate": 'Bearer realm="edgesbc"' },
    });
  }
  if (req.method === "GET" && path === "/api/stats") return json(source.stats());
  if (req.method === "GET" && path === "/api/calls") return json(source.calls());
  if (req.method === "GET" && path === "/metrics") {
    return new Response(source.metrics(), {
      headers: { "content-type": "text/plain; version=0.0.4" },
    });
  }
  if (req.method === "POST" && path === "/api/reload") {
    const result = await source.reload();
    return json(result, result.ok ? 200 : 422);
  }
  return json({ error: `No admin endpoint "${req.method} ${path}"` }, 404);
}

/** Serves the admin API on host:port until closed. */
export class AdminServer {
  #server: Deno.HttpServer;

  /** Throws (at startup only) naming the address when it cannot be bound. */
  constructor(
    listen: { host: string; port: number },
    source: AdminSource,
    access: AdminAccess = OPEN,
  ) {
    try {
      this.#server = Deno.serve({
        hostname: listen.host,
        port: listen.port,
        onListen: () => log.info("Admin API on http://{host}:{port}", listen),
        onError: (err) => {
          log.error("Admin request failed: {err}", { err: `${err}` });
          return new Response("internal error\n", { status: 500 });
        },
      }, (req) => handleAdmin(req, source, access));
    } catch (err) {
      throw bindError({ proto: "tcp", ...listen }, err);
    }
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
