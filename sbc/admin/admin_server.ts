/**
 * The admin HTTP listener: GET /api/stats, GET /api/calls, GET /metrics (Prometheus text format)
 * and POST /api/reload. Read-only views of state owned elsewhere, plus the reload trigger.
 */
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

/** Answers one admin request; pure routing over the source, so tests can call it directly. */
export async function handleAdmin(req: Request, source: AdminSource): Promise<Response> {
  const path = new URL(req.url).pathname;
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body, null, 2) + "\n", { status, headers: JSON_HEADERS });
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
  constructor(listen: { host: string; port: number }, source: AdminSource) {
    try {
      this.#server = Deno.serve({
        hostname: listen.host,
        port: listen.port,
        onListen: () => log.info("Admin API on http://{host}:{port}", listen),
        onError: (err) => {
          log.error("Admin request failed: {err}", { err: `${err}` });
          return new Response("internal error\n", { status: 500 });
        },
      }, (req) => handleAdmin(req, source));
    } catch (err) {
      throw bindError({ proto: "tcp", ...listen }, err);
    }
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
