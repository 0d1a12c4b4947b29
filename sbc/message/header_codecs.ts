/**
 * Header name table and the value codecs the message parser (message.ts) and the proxy use: comma
 * splitting, parameters, name-addr (RFC 3261 §20.10) and Via (RFC 3261 §20.42), with the types
 * they produce. Pure functions over strings.
 */

/** A Via entry (RFC 3261 §20.42). */
export interface Via {
  /** "UDP", "TCP", "TLS", ... upper case. */
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly branch: string | undefined;
  /** Parameters with lowercase keys; a flag parameter (`;rport`) maps to "". */
  readonly params: Readonly<Record<string, string>>;
}

/** A name-addr or addr-spec with parameters: From, To, Contact, Route, Record-Route, Path. */
export interface NameAddr {
  readonly display: string | undefined;
  /** The URI text without angle brackets. */
  readonly uri: string;
  readonly params: Readonly<Record<string, string>>;
}

/** RFC 3261 §7.3.3 and the IANA SIP header registry: compact form → lowercase full name. */
const COMPACT_FORMS: Readonly<Record<string, string>> = {
  i: "call-id",
  v: "via",
  f: "from",
  t: "to",
  m: "contact",
  l: "content-length",
  c: "content-type",
  k: "supported",
  s: "subject",
  e: "content-encoding",
  o: "event",
  r: "refer-to",
  u: "allow-events",
  x: "session-expires",
  y: "identity",
  b: "referred-by",
  a: "accept-contact",
  j: "reject-contact",
  d: "request-disposition",
};

/** Spelling used when we write a header line ourselves. */
const CANONICAL_NAMES: Readonly<Record<string, string>> = {
  "call-id": "Call-ID",
  "cseq": "CSeq",
  "www-authenticate": "WWW-Authenticate",
  "mime-version": "MIME-Version",
  "min-se": "Min-SE",
  "rseq": "RSeq",
  "rack": "RAck",
  "p-asserted-identity": "P-Asserted-Identity",
  "p-preferred-identity": "P-Preferred-Identity",
};

/** Headers whose values contain commas that do not separate entries (dates, auth credentials). */
const UNSPLIT: ReadonlySet<string> = new Set([
  "date",
  "authorization",
  "proxy-authorization",
  "www-authenticate",
  "proxy-authenticate",
  "authentication-info",
  "retry-after",
  "subject",
  "user-agent",
  "server",
  "organization",
  "warning",
]);

/** Lowercase full name of a header name as written on the wire (any case, compact or not). */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.length === 1 ? COMPACT_FORMS[lower] ?? lower : lower;
}

/** The spelling to write for a lowercase full header name: `record-route` → `Record-Route`. */
export function canonicalName(key: string): string {
  const known = CANONICAL_NAMES[key];
  if (known !== undefined) return known;
  let out = "";
  let upper = true;
  for (let i = 0; i < key.length; i++) {
    const ch = key[i]!;
    out += upper ? ch.toUpperCase() : ch;
    upper = ch === "-";
  }
  return out;
}

/** Whether getHeaderValues() should keep this header's value whole. */
export function isUnsplit(key: string): boolean {
  return UNSPLIT.has(key);
}

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"), RFC 3261 §25.1
const TOKEN = new Uint8Array(128);
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;

/** Whether `s` is a non-empty RFC 3261 token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] === 0) return false;
  }
  return true;
}

function isTokenCode(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) break;
    i++;
  }
  return i;
}

/** Index of the closing quote of the quoted string opening at `open`, or -1 (§25.1 quoted-pair). */
function closeQuote(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) return i;
  }
  return -1;
}

/**
 * Splits a header value at the commas that separate entries (RFC 3261 §7.3.1); commas inside
 * quoted strings or `<...>` do not split. Entries are trimmed; empty ones are dropped.
 */
export function splitValues(value: string): string[] {
  if (value.indexOf(",") < 0) {
    const v = value.trim();
    return v === "" ? [] : [v];
  }
  const out: string[] = [];
  let from = 0;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 34) {
      const end = closeQuote(value, i);
      if (end < 0) break;
      i = end;
    } else if (c === 60) angle = true;
    else if (c === 62) angle = false;
    else if (c === 44 && !angle) {
      const v = value.slice(from, i).trim();
      if (v !== "") out.push(v);
      from = i + 1;
    }
  }
  const last = value.slice(from).trim();
  if (last !== "") out.push(last);
  return out;
}

/**
 * Parses `;name=value;flag` from `s[i..]` (LWS allowed around `;` and `=`, RFC 3261 §25.1 SEMI and
 * EQUAL). Keys are lowercased; values are kept as written (quotes included); flags map to "".
 */
export function parseParams(s: string, i: number): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const n = s.length;
  for (;;) {
    i = skipWs(s, i);
    if (i >= n) return params;
    if (s.charCodeAt(i) !== 59) return undefined;
    i = skipWs(s, i + 1);
    let j = i;
    while (j < n && isTokenCode(s.charCodeAt(j))) j++;
    if (j === i) {
      // An empty parameter (";;" or a trailing ";") carries nothing; tolerate it.
      if (i >= n || s.charCodeAt(i) === 59) continue;
      return undefined;
    }
    const name = s.slice(i, j).toLowerCase();
    i = skipWs(s, j);
    let value = "";
    if (i < n && s.charCodeAt(i) === 61) {
      i = skipWs(s, i + 1);
      if (i < n && s.charCodeAt(i) === 34) {
        const end = closeQuote(s, i);
        if (end < 0) return undefined;
        value = s.slice(i, end + 1);
        i = end + 1;
      } else {
        let k = i;
        while (k < n) {
          const c = s.charCodeAt(k);
          if (c === 59 || c === 32 || c === 9 || c === 44 || c === 34) break;
          k++;
        }
        value = s.slice(i, k);
        i = k;
      }
    }
    if (!(name in params)) params[name] = value;
  }
}

/**
 * Whether an unquoted display name is `*(token LWS)` (RFC 3261 §25.1): no separator such as ","
 * or "<" (RFC 4475 §3.1.2.15). Octets above 0x7f pass: UTF-8 names sent unquoted are common and
 * carry no syntax.
 */
function isDisplayTokens(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c < 128 && TOKEN[c] === 0) return false;
  }
  return true;
}

function unquote(s: string): string {
  return s.indexOf("\\") < 0 ? s : s.replace(/\\(.)/gs, "$1");
}

/**
 * Parses one name-addr or addr-spec with header parameters (RFC 3261 §20.10): `"A, B" <sip:x;lr>;tag=1`,
 * `<sip:x>`, `sip:x;tag=1` (then `;tag` belongs to the header, not the URI).
 */
export function parseNameAddr(value: string): NameAddr | undefined {
  const s = value;
  let i = skipWs(s, 0);
  if (i >= s.length) return undefined;
  let display: string | undefined;
  let lt = -1;
  if (s.charCodeAt(i) === 34) {
    const end = closeQuote(s, i);
    if (end < 0) return undefined;
    display = unquote(s.slice(i + 1, end));
    i = skipWs(s, end + 1);
    if (s.charCodeAt(i) !== 60) return undefined;
    lt = i;
  } else {
    // A display name made of tokens never holds ":", an addr-spec always does before any "<".
    const at = s.indexOf("<", i);
    if (at >= 0 && s.lastIndexOf(":", at) < i) {
      lt = at;
      const d = s.slice(i, at).trim();
      if (!isDisplayTokens(d)) return undefined;
      display = d === "" ? undefined : d;
    }
  }
  let uri: string;
  if (lt >= 0) {
    const gt = s.indexOf(">", lt);
    if (gt < 0) return undefined;
    uri = s.slice(lt + 1, gt).trim();
    i = gt + 1;
  } else {
    let j = s.indexOf(";", i);
    if (j < 0) j = s.length;
    uri = s.slice(i, j).trim();
    i = j;
    // RFC 3261 §20 (RFC 8217): a URI holding "," or "?" must be in <> (RFC 4475 §3.1.2.13).
    if (/[\s<>",?]/.test(uri)) return undefined;
  }
  if (uri.indexOf(":") <= 0) return undefined;
  const params = parseParams(s, i);
  if (params === undefined) return undefined;
  return { display, uri, params };
}

/** Parses a comma-separated list of name-addrs (Route, Record-Route, Contact); bad entries are skipped. */
export function parseNameAddrs(value: string): NameAddr[] {
  const out: NameAddr[] = [];
  for (const entry of splitValues(value)) {
    const na = parseNameAddr(entry);
    if (na !== undefined) out.push(na);
  }
  return out;
}

function parseViaEntry(s: string): Via | undefined {
  const n = s.length;
  let i = skipWs(s, 0);
  const parts: string[] = [];
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH allows LWS.
  for (let p = 0; p < 3; p++) {
    if (p > 0) {
      if (s.charCodeAt(i) !== 47) return undefined;
      i = skipWs(s, i + 1);
    }
    let j = i;
    while (j < n && isTokenCode(s.charCodeAt(j))) j++;
    if (j === i) return undefined;
    parts.push(s.slice(i, j));
    i = p < 2 ? skipWs(s, j) : j;
  }
  if (parts[0]!.toUpperCase() !== "SIP" || parts[1] !== "2.0") return undefined;
  const afterTransport = i;
  i = skipWs(s, i);
  if (i === afterTransport || i >= n) return undefined;
  let j = i;
  if (s.charCodeAt(i) === 91) {
    j = s.indexOf("]", i);
    if (j < 0 || !/^\[[0-9A-Fa-f:.]+\]$/.test(s.slice(i, j + 1))) return undefined;
    j++;
  } else {
    while (j < n) {
      const c = s.charCodeAt(j);
      if (
        !(c === 45 || c === 46 || c === 95 || (c >= 48 && c <= 57) ||
          ((c | 32) >= 97 && (c | 32) <= 122))
      ) break;
      j++;
    }
    if (j === i) return undefined;
  }
  const host = s.slice(i, j);
  i = skipWs(s, j);
  let port: number | undefined;
  if (s.charCodeAt(i) === 58) {
    i = skipWs(s, i + 1);
    let k = i;
    while (k < n && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57) k++;
    if (k === i || k - i > 5) return undefined;
    port = Number(s.slice(i, k));
    if (port > 65535) return undefined;
    i = k;
  }
  const params = parseParams(s, i);
  if (params === undefined) return undefined;
  return { transport: parts[2]!.toUpperCase(), host, port, branch: params.branch, params };
}

/**
 * Parses a Via header value into its entries, top first; `[]` when any entry is malformed.
 * LWS around `/`, `:`, `;` and `=` is allowed (RFC 3261 §25.1, RFC 4475 §3.1.1.1).
 */
export function parseVia(value: string): Via[] {
  const out: Via[] = [];
  for (const entry of splitValues(value)) {
    const via = parseViaEntry(entry);
    if (via === undefined) return [];
    out.push(via);
  }
  return out;
}

/** Formats a Via entry as `SIP/2.0/UDP host:port;param=value;flag`. */
export function formatVia(via: Via): string {
  let out = `SIP/2.0/${via.transport} ${via.host}`;
  if (via.port !== undefined) out += `:${via.port}`;
  for (const key in via.params) {
    const v = via.params[key]!;
    out += v === "" ? `;${key}` : `;${key}=${v}`;
  }
  if (via.branch !== undefined && !("branch" in via.params)) out += `;branch=${via.branch}`;
  return out;
}
