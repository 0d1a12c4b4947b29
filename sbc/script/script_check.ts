/**
 * Static checks of a routing script's text, run at load time so mistakes show as `file:line`
 * before any call is routed: unknown KSR names, t_on_* naming a function the script lacks. Also
 * finds the script's top-level function names (callbacks need not be exported).
 */
import type { KsrRow } from "./ksr_row.ts";

export interface ScriptProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * The source with comments and string contents replaced by spaces (newlines kept), so name
 * searches neither match inside them nor shift positions. `${}` in templates counts as string.
 */
export function blankNonCode(source: string): string {
  const out = source.split("");
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end < 0 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let k = i + 1;
      while (k < source.length && source[k] !== c) {
        if (source[k] === "\\") k++;
        else if (c !== "`" && source[k] === "\n") break;
        k++;
      }
      blank(i + 1, Math.min(k, source.length));
      i = k + 1;
    } else {
      i++;
    }
  }
  return out.join("");
}

function position(source: string, index: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = source.indexOf("\n"); i >= 0 && i < index; i = source.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: index - start + 1 };
}

const DECLARATION =
  /^[ \t]*(?:export[ \t]+)?(?:async[ \t]+)?(?:function[ \t]*\*?[ \t]*|(?:const|let|var)[ \t]+)([A-Za-z_$][\w$]*)/gm;

/**
 * Names declared at the top level (outside any braces) as functions or const/let/var bindings,
 * one declaration per line start. `code` is `blankNonCode(source)`.
 */
export function topLevelNames(code: string): string[] {
  const names = new Set<string>();
  let depth = 0;
  let at = 0;
  for (const m of code.matchAll(DECLARATION)) {
    for (; at < m.index; at++) {
      const c = code.charCodeAt(at);
      if (c === 123) depth++; // {
      else if (c === 125) depth--; // }
    }
    if (depth === 0) names.add(m[1]!);
  }
  return [...names];
}

const KSR_REF = /\bKSR[ \t]*\.[ \t]*([A-Za-z_$][\w$]*)(?:[ \t]*\.[ \t]*([A-Za-z_$][\w$]*))?/g;
const ARMING = /\bKSR\.tm\.(t_on_(?:failure|reply|branch))\(\s*(["'])([^"'\n]*)\2/g;

/**
 * Checks KSR references against the rows and t_on_* names against the script's functions.
 * `code` is `blankNonCode(source)`; `functions` are the names the script defines.
 */
export function checkScript(
  source: string,
  { code, rows, functions }: {
    readonly code: string;
    readonly rows: readonly KsrRow[];
    readonly functions: ReadonlySet<string>;
  },
): ScriptProblem[] {
  const modules = new Map<string, Set<string>>();
  for (const row of rows) {
    const names = modules.get(row.module) ?? new Set();
    names.add(row.name);
    modules.set(row.module, names);
  }
  const core = modules.get("") ?? new Set();
  const problems: ScriptProblem[] = [];
  for (const m of code.matchAll(KSR_REF)) {
    const [, first, second] = m;
    const module = modules.get(first!);
    let message: string | undefined;
    if (module && first !== "") {
      if (second !== undefined && !module.has(second)) {
        message = `KSR.${first}.${second} is not a KSR function; KSR.${first} has ${
          [...module].join(", ")
        }`;
      }
    } else if (!core.has(first!)) {
      message = `KSR.${first} is not a KSR function or module`;
    }
    if (message) problems.push({ ...position(source, m.index), message });
  }
  for (const m of source.matchAll(ARMING)) {
    if (code.slice(m.index, m.index + 3) !== "KSR") continue;
    const name = m[3]!;
    if (!functions.has(name)) {
      problems.push({
        ...position(source, m.index),
        message: `KSR.tm.${m[1]}("${name}") names a function the script does not define`,
      });
    }
  }
  return problems;
}
