/**
 * The shape of the KSR API: every function a script can call is one row of a flat table
 * (module, name, params, returns, Kamailio counterpart, doc, fn). The same rows build the `KSR`
 * object, check scripts for unknown names and generate docs/scripting.md.
 */
import { isOpen } from "../proxy/context.ts";
import { getLogger } from "@logtape/logtape";
import { currentRun, type RouteKind, type ScriptRun } from "./ksr_run.ts";

const log = getLogger(["edgesbc", "script"]);

/**
 * Negative codes every int-returning KSR function may return, beyond its own. Predicates return
 * false and getters null instead; each case also logs one error line naming the function.
 */
export const KSR_ERROR = {
  /** An argument has the wrong type or an unusable value. */
  badArgument: -100,
  /** The function is not available in this kind of route. */
  wrongRoute: -101,
  /** Called outside a route (at load time, or after an await in a non-async function). */
  noRequest: -102,
  /** The request was already relayed or answered in this route: it can no longer change. */
  finished: -103,
} as const;
export type KsrError = typeof KSR_ERROR[keyof typeof KSR_ERROR];

/** Parameter types: `str`, `int`, with `?` when the argument may be left out. */
export type KsrParam = "str" | "int" | "str?" | "int?";
/** What a function returns: `int` (1 or a negative code), `bool`, a value or nothing. */
export type KsrReturn = "int" | "bool" | "str" | "str|null" | "str|int|null" | "void";
export type KsrValue = number | boolean | string | null | undefined;

export interface KsrRow {
  /** `""` for functions directly on `KSR` (KSR.is_method), else the module (KSR.tm.t_relay). */
  readonly module: string;
  readonly name: string;
  readonly params: readonly KsrParam[];
  readonly returns: KsrReturn;
  /** The Kamailio function it stands for, or what edgesbc adds instead. */
  readonly kamailio: string;
  readonly doc: string;
  /** Function-specific results: the value (1, -1, ...) and its meaning. */
  readonly codes?: readonly (readonly [number, string])[];
  /** Route kinds it may be called in; "anywhere" also allows script load time (no run). */
  readonly routes: readonly RouteKind[] | "anywhere";
  /** Changes the request: refused once the request was relayed or answered in this route. */
  readonly mutates?: boolean;
  /** The typed implementation; arguments were checked against `params`. */
  // deno-lint-ignore no-explicit-any
  readonly fn: (run: ScriptRun, ...args: any[]) => KsrValue;
}

/** `KSR.tm.t_relay()` for messages and docs. */
export function ksrLabel(row: Pick<KsrRow, "module" | "name">): string {
  return `KSR.${row.module === "" ? "" : row.module + "."}${row.name}()`;
}

/** The value a function returns when it cannot run: its own kind of "nothing". */
function failure(row: KsrRow, code: number): KsrValue {
  switch (row.returns) {
    case "int":
      return code;
    case "bool":
      return false;
    case "str":
      return "";
    case "void":
      return undefined;
    default:
      return null;
  }
}

function checkArgs(params: readonly KsrParam[], args: readonly unknown[]): string | undefined {
  if (args.length > params.length) {
    return `expected at most ${params.length} argument(s), got ${args.length}`;
  }
  for (let i = 0; i < params.length; i++) {
    const param = params[i]!;
    const value = args[i];
    if (value === undefined) {
      if (param.endsWith("?")) continue;
      return `argument ${i + 1} is missing`;
    }
    if (param.startsWith("str") && typeof value !== "string") {
      return `argument ${i + 1} must be a string, got ${describe(value)}`;
    }
    if (param.startsWith("int") && !Number.isInteger(value)) {
      return `argument ${i + 1} must be an integer, got ${describe(value)}`;
    }
  }
  return undefined;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (typeof value === "number") return String(value);
  return value === null ? "null" : typeof value;
}

/**
 * Logs one error line for a KSR call that failed and returns the row's failure value: `code` for
 * int functions (a KSR_ERROR or one of the row's own codes), false, null or nothing otherwise.
 */
export function ksrFail(
  row: KsrRow,
  { code, detail }: { readonly code: number; readonly detail: string },
): KsrValue {
  log.error("{fn} failed: {detail}", { fn: ksrLabel(row), detail });
  return failure(row, code);
}

/**
 * Wraps a row into the function scripts call: finds the current run, checks the route kind and
 * the arguments, then calls the typed implementation. Never throws past the script (except the
 * exit sentinel, which the row itself throws).
 */
export function adaptRow(row: KsrRow): (...args: unknown[]) => KsrValue {
  const anywhere = row.routes === "anywhere";
  const routes = new Set(anywhere ? [] : row.routes);
  return (...args: unknown[]): KsrValue => {
    const run = currentRun();
    if (run === undefined && !anywhere) {
      return ksrFail(row, {
        code: KSR_ERROR.noRequest,
        detail:
          "no request is being routed (called at load time, or after an await in a function " +
          "that is not async)",
      });
    }
    if (run !== undefined && !anywhere && !routes.has(run.kind)) {
      return ksrFail(row, {
        code: KSR_ERROR.wrongRoute,
        detail: `not available in ${run.kind} routes`,
      });
    }
    const problem = checkArgs(row.params, args);
    if (problem !== undefined) {
      return ksrFail(row, { code: KSR_ERROR.badArgument, detail: problem });
    }
    if (
      row.mutates && run !== undefined && run.kind !== "reply" && (run.relay || !isOpen(run.ctx))
    ) {
      return ksrFail(row, {
        code: KSR_ERROR.finished,
        detail: "the request was already relayed or answered",
      });
    }
    return row.fn(run as ScriptRun, ...args);
  };
}
