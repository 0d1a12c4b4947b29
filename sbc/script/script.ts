/**
 * Routing scripts (KEMI style): TypeScript read as text, transpiled with sucrase and evaluated
 * with `new Function` (never `import()`, so the compiled binary runs user scripts too), then
 * turned into the request route and hooks the proxy core runs.
 *
 * A script defines `ksr_request_route(msg)` and optionally `ksr_reply_route(msg)`,
 * `ksr_onsend_route(msg)` and any callbacks armed with `KSR.tm.t_on_failure("name")`,
 * `t_on_reply`, `t_on_branch`. Functions are found by name among the script's exports and its
 * top-level declarations, so `export` is optional. See docs/scripting.md.
 */
import { getLogger } from "@logtape/logtape";
import { transform } from "sucrase";
import { isOpen, type SipContext } from "../proxy/context.ts";
import type { RequestRoute, RouteHooks } from "../proxy/context.ts";
import { KSR, KSR_ROWS } from "./ksr.ts";
import {
  callWithRun,
  KSR_EXIT,
  type RequestScriptState,
  requestState,
  ROUTE_KIND,
  type RouteKind,
  type ScriptFunction,
  type ScriptRun,
  startRequest,
} from "./ksr_run.ts";
import { relayTarget } from "./ksr_tm.ts";
import type { Edit, SipMessage } from "../message/sip_message.ts";
import { blankNonCode, checkScript, topLevelNames } from "./script_check.ts";

const log = getLogger(["edgesbc", "script"]);

/** A compiled script, ready for `core.setRoute(script.route, script.hooks)`. */
export interface RoutingScript {
  readonly filename: string;
  readonly route: RequestRoute;
  readonly hooks: RouteHooks;
  /** Names of the functions the script defines. */
  readonly functions: readonly string[];
}

export type ScriptResult =
  | { readonly ok: true; readonly script: RoutingScript }
  | { readonly ok: false; readonly error: string };

/** Reads, compiles and checks a routing script file; never throws. */
export async function loadScript(path: string): Promise<ScriptResult> {
  let source: string;
  try {
    source = await Deno.readTextFile(path);
  } catch (err) {
    return {
      ok: false,
      error: `Cannot read routing script "${path}": ${err instanceof Error ? err.message : err}`,
    };
  }
  return compileScript(source, path);
}

/** How many lines `new Function` puts before the body (V8 adds the function header). */
const LINE_OFFSET = (() => {
  try {
    new Function('"use strict";throw new Error()\n//# sourceURL=probe')();
  } catch (err) {
    const m = /probe, <anonymous>:(\d+):/.exec((err as Error).stack ?? "") ??
      /probe:(\d+):/.exec((err as Error).stack ?? "");
    if (m) return Number(m[1]) - 1;
  }
  return 2;
})();

/** `file:line:column` of the innermost frame in the script, from a stack trace. */
export function scriptLocation(err: unknown, filename: string): string | undefined {
  const stack = err instanceof Error ? err.stack ?? "" : "";
  for (const line of stack.split("\n")) {
    const at = line.indexOf(filename);
    if (at < 0) continue;
    const m = /:(\d+):(\d+)\)?\s*$/.exec(line.slice(at + filename.length));
    if (m) return `${filename}:${Number(m[1]) - LINE_OFFSET}:${m[2]}`;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fail(error: string): ScriptResult {
  return { ok: false, error };
}

/** Scripts are self-contained: imports get a clear error instead of a missing `require`. */
function noImports(name: string): never {
  throw new Error(`Cannot import "${name}" in a routing script: scripts are self-contained`);
}

/**
 * Compiles a script from its text. Errors name `file:line:column` when the transpiler or the
 * evaluation gives a position.
 */
export function compileScript(source: string, filename: string): ScriptResult {
  let js: string;
  try {
    js = transform(source, {
      transforms: ["typescript", "imports"],
      disableESTransforms: true,
      production: true,
      filePath: filename,
    }).code;
  } catch (err) {
    const loc = (err as { loc?: { line: number; column: number } }).loc;
    const detail = messageOf(err).replace(/^Error transforming .*?: /, "").replace(
      / \(\d+:\d+\)$/,
      "",
    );
    return fail(
      loc
        ? `Cannot compile routing script "${filename}:${loc.line}:${loc.column}": ${detail}`
        : `Cannot compile routing script "${filename}": ${detail}`,
    );
  }
  const code = blankNonCode(source);
  const declared = topLevelNames(code);
  // The epilogue hands back top-level functions by name; typeof tolerates names that are not
  // functions or (from a misparse) not declared at all.
  const epilogue = `\n;return {${
    declared.map((n) => `${JSON.stringify(n)}: typeof ${n} === "function" ? ${n} : undefined`)
      .join(", ")
  }};\n//# sourceURL=${filename}`;
  const exports: Record<string, unknown> = {};
  let found: Record<string, unknown>;
  try {
    const factory = new Function("KSR", "exports", "require", js + epilogue);
    found = factory(KSR, exports, noImports) as Record<string, unknown>;
  } catch (err) {
    const where = scriptLocation(err, filename) ?? filename;
    return fail(`Cannot load routing script "${where}": ${messageOf(err)}`);
  }
  const functions = new Map<string, ScriptFunction>();
  for (const table of [found, exports]) {
    for (const [name, value] of Object.entries(table)) {
      if (typeof value === "function") functions.set(name, value as ScriptFunction);
    }
  }
  const problems = checkScript(source, {
    code,
    rows: KSR_ROWS,
    functions: new Set(functions.keys()),
  });
  if (problems.length > 0) {
    return fail(
      problems.map((p) =>
        `Cannot load routing script "${filename}:${p.line}:${p.column}": ${p.message}`
      )
        .join("\n"),
    );
  }
  if (!functions.has("ksr_request_route")) {
    return fail(`Cannot load routing script "${filename}": ksr_request_route is not defined`);
  }
  return { ok: true, script: makeScript(filename, functions) };
}

/** A script function failed: the message names the function and where in the script. */
export class ScriptError extends Error {
  readonly code = "SCRIPT_FAILED";
  constructor(filename: string, fn: string, cause: unknown) {
    const where = scriptLocation(cause, filename) ?? filename;
    super(`Routing script "${where}" failed in ${fn}: ${messageOf(cause)}`, { cause });
    this.name = "ScriptError";
  }
}

function makeScript(
  filename: string,
  functions: ReadonlyMap<string, ScriptFunction>,
): RoutingScript {
  /** A run on the state the request route started (`state` given for the request route). */
  const newRun = (
    kind: RouteKind,
    ctx: SipContext,
    state: RequestScriptState,
    reply?: SipMessage,
    replyEdits?: Edit[],
  ): ScriptRun => ({
    kind,
    ctx,
    actions: state.actions,
    state,
    functions,
    reply,
    replyEdits,
    relay: false,
    dropped: false,
  });

  /** Calls a script function, awaiting a returned promise; the exit marker ends it quietly. */
  async function invoke(run: ScriptRun, name: string): Promise<void> {
    const fn = functions.get(name);
    if (!fn) throw new ScriptError(filename, name, new Error("the function is not defined"));
    try {
      const result = callWithRun(run, fn);
      if (result instanceof Promise) await result;
    } catch (err) {
      if (err !== KSR_EXIT) throw new ScriptError(filename, name, err);
    }
  }

  /** A pending t_relay: the branch route, then ksr_onsend_route, then the send. */
  async function relay(run: ScriptRun): Promise<void> {
    const { ctx, actions, state } = run;
    const branch = ctx.callbacks.branch;
    if (branch !== undefined) {
      const br = newRun(ROUTE_KIND.branch, ctx, state);
      await invoke(br, branch);
      if (br.dropped) return;
      // The branch route may have changed $du or the Request-URI.
      const target = relayTarget(br);
      if (!target) return;
      ctx.target = target;
    }
    if (functions.has("ksr_onsend_route")) {
      const os = newRun(ROUTE_KIND.onsend, ctx, state);
      await invoke(os, "ksr_onsend_route");
      if (os.dropped) {
        log.debug("ksr_onsend_route dropped {method} {callId}", {
          method: ctx.msg.method,
          callId: ctx.msg.callId,
        });
        return;
      }
    }
    await actions.relay(ctx);
  }

  async function runRelaying(run: ScriptRun, name: string): Promise<void> {
    await invoke(run, name);
    if (run.relay && !run.dropped && isOpen(run.ctx)) await relay(run);
  }

  /** Reply routes run synchronously (the core forwards the answer right after). */
  function runReply(
    name: string,
    ctx: SipContext,
    state: RequestScriptState,
    reply: SipMessage,
    edits: Edit[],
  ) {
    const run = newRun(ROUTE_KIND.reply, ctx, state, reply, edits);
    try {
      const result = callWithRun(run, functions.get(name)!);
      if (result instanceof Promise) {
        result.catch((err) => {
          if (err !== KSR_EXIT) {
            log.error("{err}", { err: new ScriptError(filename, name, err).message });
          }
        });
      }
    } catch (err) {
      if (err !== KSR_EXIT) {
        log.error("{err}", { err: new ScriptError(filename, name, err).message });
      }
    }
  }

  const hasReplyRoute = functions.has("ksr_reply_route");
  // This script's own routes for the requests it routed.
  const own: RouteHooks = {
    onReply(ctx, reply, edits) {
      const state = requestState(ctx)!;
      if (hasReplyRoute) runReply("ksr_reply_route", ctx, state, reply, edits);
      const named = ctx.callbacks.reply;
      if (named !== undefined && functions.has(named)) runReply(named, ctx, state, reply, edits);
    },
    async onFailure(name, ctx, reply) {
      await runRelaying(newRun(ROUTE_KIND.failure, ctx, requestState(ctx)!, reply), name);
    },
  };

  const route: RequestRoute = async function scriptRoute(ctx, actions) {
    const state = startRequest(ctx, { actions, hooks: own });
    const run = newRun(ROUTE_KIND.request, ctx, state);
    await runRelaying(run, "ksr_request_route");
    // The core then answers 500 No Route Decision; without this line the log would not say why.
    if (!run.relay && !run.dropped && isOpen(ctx) && ctx.tx !== undefined) {
      log.error(
        "Routing script {filename}: ksr_request_route neither relayed, answered nor dropped " +
          "{method} {callId}: answering 500 No Route Decision",
        { filename, method: ctx.msg.method, callId: ctx.msg.callId },
      );
    }
  };

  // The core holds the hooks of the latest script; a request keeps the script that routed it, so
  // after a reload, transactions under way finish with their own failure and reply routes.
  const hooks: RouteHooks = {
    onReply: (ctx, reply, edits) => requestState(ctx)?.hooks.onReply?.(ctx, reply, edits),
    onFailure: (name, ctx, reply) => requestState(ctx)?.hooks.onFailure?.(name, ctx, reply),
  };
  return { filename, route, hooks, functions: [...functions.keys()] };
}
