/**
 * SIP and tel URIs (RFC 3261 §19.1, RFC 3966): parse into plain data and format back.
 *
 * Escapes (`%40`) are kept as received (RFC 3261 §19.1.2); comparison code unescapes when it needs to.
 */

/** A parsed `sip:`, `sips:` or `tel:` URI. */
export interface SipUri {
  /** "sip", "sips" or "tel", lower case. */
  readonly scheme: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Lower case; IPv6 references keep their brackets. For tel: the number. */
  readonly host: string;
  readonly port: number | undefined;
  /** URI parameters with lowercase keys; a flag (`;lr`) maps to "". */
  readonly params: Readonly<Record<string, string>>;
  /** The text after `?`, as received. */
  readonly headers: string | undefined;
}

const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$/;
const PORT = /^\d{1,5}$/;

function parseUriParams(text: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  if (text === "") return params;
  for (const part of text.split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    if (name === "") return undefined;
    if (!(name in params)) params[name] = eq < 0 ? "" : part.slice(eq + 1);
  }
  return params;
}

/** Parses a sip:, sips: or tel: URI; undefined for other schemes or malformed text. */
export function parseUri(text: string): SipUri | undefined {
  if (/\s/.test(text)) return undefined;
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  const scheme = text.slice(0, colon).toLowerCase();
  let rest = text.slice(colon + 1);
  if (scheme === "tel") {
    // RFC 3966 §3: telephone-subscriber, then ;par parameters.
    const semi = rest.indexOf(";");
    const number = semi < 0 ? rest : rest.slice(0, semi);
    const params = parseUriParams(semi < 0 ? "" : rest.slice(semi + 1));
    if (number === "" || params === undefined) return undefined;
    return {
      scheme,
      user: undefined,
      password: undefined,
      host: number,
      port: undefined,
      params,
      headers: undefined,
    };
  }
  if (scheme !== "sip" && scheme !== "sips") return undefined;

  let user: string | undefined;
  let password: string | undefined;
  // The user part may hold ";" and "?" (RFC 3261 §25.1 user-unreserved) but never a bare "@".
  const at = rest.indexOf("@");
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const pc = userinfo.indexOf(":");
    user = pc < 0 ? userinfo : userinfo.slice(0, pc);
    password = pc < 0 ? undefined : userinfo.slice(pc + 1);
    if (user === "") return undefined;
    rest = rest.slice(at + 1);
  }
  let headers: string | undefined;
  const qm = rest.indexOf("?");
  if (qm >= 0) {
    headers = rest.slice(qm + 1);
    rest = rest.slice(0, qm);
  }
  const semi = rest.indexOf(";");
  const hostport = semi < 0 ? rest : rest.slice(0, semi);
  const params = parseUriParams(semi < 0 ? "" : rest.slice(semi + 1));
  if (params === undefined) return undefined;

  let host = hostport;
  let port: number | undefined;
  const portColon = hostport.startsWith("[")
    ? hostport.indexOf(":", hostport.indexOf("]"))
    : hostport.indexOf(":");
  if (portColon >= 0) {
    host = hostport.slice(0, portColon);
    const p = hostport.slice(portColon + 1);
    if (!PORT.test(p) || Number(p) > 65535) return undefined;
    port = Number(p);
  }
  if (!HOST.test(host)) return undefined;
  return { scheme, user, password, host: host.toLowerCase(), port, params, headers };
}

/**
 * `text` without its `?headers` part (RFC 3261 §19.1.1), found as parseUri() finds it: after the
 * userinfo, whose user part may itself hold "?". Only sip: and sips: URIs have one; any other
 * text is returned as it is.
 */
export function withoutUriHeaders(text: string): string {
  const colon = text.indexOf(":");
  if (colon !== 3 && colon !== 4) return text;
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme !== "sip" && scheme !== "sips") return text;
  const at = text.indexOf("@", colon + 1);
  const qm = text.indexOf("?", at < 0 ? colon + 1 : at + 1);
  return qm < 0 ? text : text.slice(0, qm);
}

/** Formats a URI back to text: `sip:user:password@host:port;params?headers`. */
export function formatUri(uri: SipUri): string {
  let out = uri.scheme + ":";
  if (uri.user !== undefined) {
    out += uri.user;
    if (uri.password !== undefined) out += ":" + uri.password;
    out += "@";
  }
  out += uri.host;
  if (uri.port !== undefined) out += ":" + uri.port;
  for (const key in uri.params) {
    const v = uri.params[key]!;
    out += v === "" ? `;${key}` : `;${key}=${v}`;
  }
  if (uri.headers !== undefined) out += "?" + uri.headers;
  return out;
}
