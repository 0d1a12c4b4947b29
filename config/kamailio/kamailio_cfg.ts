/**
 * kamailio.cfg syntax, read for `edgesbc import`: comments blanked out (keeping offsets, and
 * collecting `#!` directives), tokens with their line, and route-block bodies parsed into a small
 * statement tree. Pure: no I/O, never throws; it knows the syntax, not what a statement means.
 */

// ---------------------------------------------------------------------------------------------
// Lexing: comments out, tokens with offsets so messages can quote the original text and line.

/** A word, a string or a punctuation mark, where it was in the cfg text. */
export interface Token {
  readonly kind: "word" | "string" | "punct";
  readonly text: string;
  /** The string's content without quotes; the text for other kinds. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
  readonly line: number;
}

/** Replace comments with spaces (keeping offsets and newlines) and collect `#!` directives. */
export function stripComments(text: string): { code: string; directives: Token[] } {
  const out = text.split("");
  const directives: Token[] = [];
  let line = 1;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      continue;
    }
    if (c === '"' || c === "'") {
      i = skipString(text, i) - 1;
      continue;
    }
    const atLineStart = /^[ \t]*$/.test(text.slice(text.lastIndexOf("\n", i - 1) + 1, i));
    const rest = text.slice(i, i + 2);
    if (rest === "/*") {
      const close = text.indexOf("*/", i + 2);
      const end = close < 0 ? text.length : close + 2;
      blank(i, end);
      line += (text.slice(i, end).match(/\n/g) ?? []).length;
      i = end - 1;
    } else if (c === "#" || rest === "//") {
      const eol = text.indexOf("\n", i);
      const end = eol < 0 ? text.length : eol;
      // `#!define`, `#!ifdef`…: Kamailio's preprocessor (`!!` is its other spelling).
      if (rest === "#!" && atLineStart) {
        const body = text.slice(i, end).trim();
        directives.push({ kind: "word", text: body, value: body, start: i, end, line });
      }
      blank(i, end);
      i = end - 1;
    } else if (rest === "!!" && atLineStart) {
      const eol = text.indexOf("\n", i);
      const end = eol < 0 ? text.length : eol;
      const body = "#!" + text.slice(i + 2, end).trim();
      directives.push({ kind: "word", text: body, value: body, start: i, end, line });
      blank(i, end);
      i = end - 1;
    }
  }
  return { code: out.join(""), directives };
}

/** Index just past the string starting at `start` ("…" has backslash escapes, '…' has none). */
function skipString(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) return i + 1;
  }
  return text.length;
}

const OPERATORS = ["==", "!=", "=~", "!~", ">=", "<=", "&&", "||", "+=", "-="];

/** Split comment-free cfg code into tokens; `#!define` names are left as words. */
export function tokenize(code: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const push = (kind: Token["kind"], end: number, value?: string) => {
    const text = code.slice(i, end);
    tokens.push({ kind, text, value: value ?? text, start: i, end, line });
    line += (text.match(/\n/g) ?? []).length;
    i = end;
  };
  while (i < code.length) {
    const c = code[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      const end = skipString(code, i);
      const inner = code.slice(i + 1, end - 1);
      push("string", end, c === '"' ? inner.replace(/\\(.)/g, "$1") : inner);
    } else if (c === "$") {
      // Pseudo-variables: $du, $var(x), $hdr(X-Y), $(ru{s.len}).
      let end = i + 1;
      while (end < code.length && /[A-Za-z0-9_.]/.test(code[end]!)) end++;
      if (code[end] === "(" || code[end] === "{") end = skipGroup(code, end);
      push("word", end);
    } else if (/[A-Za-z0-9_.:@]/.test(c)) {
      let end = i + 1;
      while (end < code.length && /[A-Za-z0-9_.:@]/.test(code[end]!)) end++;
      push("word", end);
    } else {
      const op = OPERATORS.find((candidate) => code.startsWith(candidate, i));
      push("punct", i + (op?.length ?? 1));
    }
  }
  return tokens;
}

function skipGroup(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i]!;
    if (c === '"' || c === "'") i = skipString(code, i) - 1;
    else if (c === "(" || c === "{") depth++;
    else if ((c === ")" || c === "}") && --depth === 0) return i + 1;
  }
  return code.length;
}

// ---------------------------------------------------------------------------------------------
// Route blocks: a small statement tree, enough to know what each statement does.

/** A call's argument or an assignment's value. */
export interface Arg {
  /** A string's content, or a word as written. */
  readonly value: string;
  /** A plain string or word; false for expressions and pseudo-variables. */
  readonly literal: boolean;
}

/** Every statement keeps its text as written (whitespace collapsed) and its line. */
interface Written {
  readonly text: string;
  readonly line: number;
}

/** A route-block statement: a call, an assignment, a branch, a loop, a keyword or other. */
export type Stmt =
  | Written & { readonly kind: "call"; readonly name: string; readonly args: Arg[] }
  | Written & { readonly kind: "assign"; readonly target: string; readonly value: Arg }
  | Written & {
    readonly kind: "if";
    readonly cond: Token[];
    readonly then: Stmt[];
    readonly else: Stmt[];
  }
  | Written & { readonly kind: "loop"; readonly body: Stmt[] }
  | Written & { readonly kind: "keyword"; readonly name: string }
  | Written & { readonly kind: "other" };

/** Parse the block whose "{" is at `open`; `next` is the token after its "}". */
export function parseBlock(
  tokens: Token[],
  open: number,
  code: string,
): { body: Stmt[]; next: number } {
  const body: Stmt[] = [];
  let i = open + 1;
  while (i < tokens.length && tokens[i]!.text !== "}") {
    const parsed = parseStatement(tokens, i, code);
    body.push(...parsed.stmts);
    i = parsed.next;
  }
  return { body, next: i + 1 };
}

function parseStatement(
  tokens: Token[],
  i: number,
  code: string,
): { stmts: Stmt[]; next: number } {
  const token = tokens[i]!;
  const line = token.line;
  const textTo = (last: number) => collapse(code.slice(token.start, tokens[last]?.end));
  if (token.text === ";") return { stmts: [], next: i + 1 };
  if (token.text === "{") {
    const block = parseBlock(tokens, i, code);
    return { stmts: block.body, next: block.next };
  }
  if (token.text === "case" || token.text === "default" || token.text === "default:") {
    // switch labels: skip to the ":" that ends them.
    let j = i;
    while (j < tokens.length && !tokens[j]!.text.endsWith(":")) j++;
    return { stmts: [], next: j + 1 };
  }
  if (
    (token.text === "if" || token.text === "while" || token.text === "switch") &&
    tokens[i + 1]?.text === "("
  ) {
    const close = matching(tokens, i + 1);
    const cond = tokens.slice(i + 2, close);
    const text = textTo(close);
    const then = parseStatement(tokens, close + 1, code);
    if (token.text !== "if") {
      return { stmts: [{ kind: "loop", body: then.stmts, text, line }], next: then.next };
    }
    let next = then.next;
    let otherwise: Stmt[] = [];
    if (tokens[next]?.text === "else") {
      const parsed = parseStatement(tokens, next + 1, code);
      otherwise = parsed.stmts;
      next = parsed.next;
    }
    return { stmts: [{ kind: "if", cond, then: then.stmts, else: otherwise, text, line }], next };
  }
  // Simple statements end at ";" or at the "}" closing their block.
  let end = i;
  while (end < tokens.length && tokens[end]!.text !== ";" && tokens[end]!.text !== "}") {
    end = tokens[end]!.text === "(" ? matching(tokens, end) + 1 : end + 1;
  }
  const last = end - 1;
  const next = tokens[end]?.text === ";" ? end + 1 : end;
  const text = textTo(last);
  if (["exit", "drop", "return", "break"].includes(token.text)) {
    return { stmts: [{ kind: "keyword", name: token.text, text, line }], next };
  }
  if (token.kind === "word" && tokens[i + 1]?.text === "(" && matching(tokens, i + 1) === last) {
    const args = splitArgs(tokens.slice(i + 2, last));
    return { stmts: [{ kind: "call", name: token.text, args, text, line }], next };
  }
  if (token.text.startsWith("$") && tokens[i + 1]?.text === "=") {
    const valueTokens = tokens.slice(i + 2, end);
    const value = toArg(valueTokens);
    return { stmts: [{ kind: "assign", target: token.text, value, text, line }], next };
  }
  return { stmts: [{ kind: "other", text, line }], next };
}

/** Index of the ")" or "]" closing the bracket at `open`. */
export function matching(tokens: readonly Token[], open: number): number {
  const pairs: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
  const close = pairs[tokens[open]?.text ?? ""];
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]!.text === tokens[open]!.text) depth++;
    else if (tokens[i]!.text === close && --depth === 0) return i;
  }
  return tokens.length - 1;
}

/** Split the tokens between a call's parentheses at top-level commas. */
export function splitArgs(tokens: readonly Token[]): Arg[] {
  const args: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.text === "(") depth++;
    if (token.text === ")") depth--;
    if (token.text === "," && depth === 0) args.push([]);
    else args[args.length - 1]!.push(token);
  }
  return args.filter((arg) => arg.length > 0).map(toArg);
}

function toArg(tokens: readonly Token[]): Arg {
  // A literal, or literals joined with "+" ("sip:" + PBX_IP + ":5060" after #!define).
  const parts = tokens.filter((_, k) => k % 2 === 0);
  const literal = tokens.length % 2 === 1 &&
    tokens.every((t, k) => k % 2 === 1 ? t.text === "+" : !t.value.includes("$")) &&
    (parts.length === 1 || parts.every((t) => t.kind === "string"));
  if (literal) return { value: parts.map((t) => t.value).join(""), literal: true };
  return { value: tokens.map((t) => t.text).join(" "), literal: false };
}

// Small helpers.

/** The text with each run of whitespace made one space, trimmed. */
export function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
