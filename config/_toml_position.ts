/**
 * Line numbers of keys in a TOML document, which smol-toml does not report.
 *
 * A small scanner over text that smol-toml has already accepted: it follows table headers, dotted
 * keys, inline tables and arrays (one element index per entry), and skips strings and comments so
 * a `[` inside a string is not read as a header.
 */

/** A key path: table and key names, and array indexes (`["interfaces", "external", "sip", 1]`). */
export type TomlPath = readonly (string | number)[];

/** The first line (1-based) each key path, and each of its prefixes, appears on. */
export type TomlLines = ReadonlyMap<string, number>;

/** Index the line of every key path in a syntactically valid TOML document. */
export function indexTomlLines(source: string): TomlLines {
  const lines = new Map<string, number>();
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === "\n") lineStarts.push(i + 1);
  let pos = 0;

  const lineAt = (offset: number): number => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
  const record = (path: TomlPath, offset: number): void => {
    const line = lineAt(offset);
    for (let length = 1; length <= path.length; length++) {
      const key = pathKey(path.slice(0, length));
      if (!lines.has(key)) lines.set(key, line);
    }
  };
  const skipSpaces = (): void => {
    while (pos < source.length && (source[pos] === " " || source[pos] === "\t")) pos++;
  };
  const skipBlank = (): void => {
    while (pos < source.length) {
      const char = source[pos];
      if (char === " " || char === "\t" || char === "\r" || char === "\n") pos++;
      else if (char === "#") { while (pos < source.length && source[pos] !== "\n") pos++; }
      else break;
    }
  };
  const readString = (): string => {
    const quote = source[pos];
    const multi = source.startsWith(quote === '"' ? '"""' : "'''", pos);
    const delimiter = multi ? quote!.repeat(3) : quote!;
    const start = pos + delimiter.length;
    pos = start;
    while (pos < source.length && !source.startsWith(delimiter, pos)) {
      pos += quote === '"' && source[pos] === "\\" ? 2 : 1;
    }
    const body = source.slice(start, pos);
    pos += delimiter.length;
    // A multi-line string may end in up to two extra quotes (TOML 1.0 §String).
    while (multi && source[pos] === quote) pos++;
    return quote === '"' ? unescapeBasic(body) : body;
  };
  const readKey = (): string[] => {
    const parts: string[] = [];
    while (pos < source.length) {
      skipSpaces();
      const char = source[pos];
      if (char === '"' || char === "'") parts.push(readString());
      else {
        const start = pos;
        while (pos < source.length && /[A-Za-z0-9_-]/.test(source[pos]!)) pos++;
        if (pos === start) break;
        parts.push(source.slice(start, pos));
      }
      skipSpaces();
      if (source[pos] !== ".") break;
      pos++;
    }
    return parts;
  };
  const skipValue = (path: TomlPath): void => {
    const char = source[pos];
    if (char === '"' || char === "'") {
      readString();
    } else if (char === "[") {
      pos++;
      for (let index = 0;; index++) {
        skipBlank();
        if (pos >= source.length || source[pos] === "]") break;
        record([...path, index], pos);
        skipValue([...path, index]);
        skipBlank();
        if (source[pos] === ",") pos++;
      }
      pos++;
    } else if (char === "{") {
      pos++;
      while (pos < source.length) {
        skipBlank();
        if (source[pos] === "}") break;
        const start = pos;
        const key = [...path, ...readKey()];
        record(key, start);
        skipSpaces();
        if (source[pos] === "=") pos++;
        skipSpaces();
        skipValue(key);
        skipBlank();
        if (source[pos] === ",") pos++;
        if (pos === start) pos++;
      }
      pos++;
    } else {
      while (pos < source.length && !/[,\]}\r\n#]/.test(source[pos]!)) pos++;
    }
  };

  let table: TomlPath = [];
  const arrayTableCounts = new Map<string, number>();
  while (pos < source.length) {
    skipBlank();
    if (pos >= source.length) break;
    const start = pos;
    if (source[pos] === "[") {
      const arrayTable = source[pos + 1] === "[";
      pos += arrayTable ? 2 : 1;
      const key = readKey();
      pos += arrayTable ? 2 : 1;
      if (arrayTable) {
        const count = arrayTableCounts.get(pathKey(key)) ?? 0;
        arrayTableCounts.set(pathKey(key), count + 1);
        table = [...key, count];
      } else {
        table = key;
      }
      record(table, start);
    } else {
      const key = [...table, ...readKey()];
      record(key, start);
      skipSpaces();
      if (source[pos] === "=") pos++;
      skipSpaces();
      skipValue(key);
    }
    // Only reachable on text smol-toml would refuse; move on rather than loop.
    if (pos === start) pos++;
  }
  return lines;
}

/** The line of `path`, else of its nearest recorded ancestor, else 0 (the file as a whole). */
export function lineOf(lines: TomlLines, path: TomlPath): number {
  for (let length = path.length; length > 0; length--) {
    const line = lines.get(pathKey(path.slice(0, length)));
    if (line !== undefined) return line;
  }
  return 0;
}

function pathKey(path: TomlPath): string {
  return JSON.stringify(path);
}

function unescapeBasic(body: string): string {
  // Keys rarely hold escapes; JSON's escapes are TOML's minus \U and \e, which stay as written.
  try {
    return JSON.parse(`"${body}"`);
  } catch {
    return body;
  }
}
