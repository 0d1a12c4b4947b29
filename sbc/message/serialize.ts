/**
 * Serializing a received message with edits applied as patches (Kamailio's "lumps"): untouched
 * header lines are copied byte for byte, so forwarding costs what it changes. A request line is
 * always written in canonical form; a status line is copied.
 */
import { Buffer } from "node:buffer";
import { canonicalName, headerKey, splitValues } from "./header_codecs.ts";
import type { Edit, SipMessage } from "./sip_message.ts";

/** A header line in the output: `text` undefined means "copy the received bytes". */
interface Line {
  readonly name: string;
  readonly index: number;
  value: string;
  text: string | undefined;
}

/** The header name as the sender spelled it, so rewritten lines keep their look. */
function receivedName(msg: SipMessage, index: number): string {
  const h = msg.headers[index]!;
  const raw = msg.raw.slice(h.start, msg.raw.indexOf(":", h.start)).trimEnd();
  return raw.length === 1 ? canonicalName(h.name) : raw;
}

function findLine(lines: Line[], name: string): number {
  for (let i = 0; i < lines.length; i++) if (lines[i]!.name === name) return i;
  return -1;
}

/**
 * Applies `edits` to `msg` and returns the text to send. Untouched header lines are copied byte for
 * byte; a request line is written `METHOD SP Request-URI SP SIP/2.0`; Content-Length is always
 * rewritten to the final body length (RFC 3261 §20.14).
 */
export function serializeMessage(msg: SipMessage, edits: readonly Edit[]): string {
  const raw = msg.raw;
  const lines: Line[] = new Array(msg.headers.length);
  for (let i = 0; i < msg.headers.length; i++) {
    const h = msg.headers[i]!;
    lines[i] = { name: h.name, index: i, value: h.value, text: undefined };
  }
  let uri: string | undefined;
  let body = msg.body;
  for (const edit of edits) {
    switch (edit.op) {
      case "set-uri":
        uri = edit.uri;
        break;
      case "prepend": {
        const name = headerKey(edit.name);
        const at = findLine(lines, name);
        const line = { name, index: -1, value: edit.value, text: undefined };
        lines.splice(at < 0 ? 0 : at, 0, withText(line, canonicalName(name)));
        break;
      }
      case "append": {
        const name = headerKey(edit.name);
        lines.push(
          withText({ name, index: -1, value: edit.value, text: undefined }, canonicalName(name)),
        );
        break;
      }
      case "remove-first-value": {
        const name = headerKey(edit.name);
        const at = findLine(lines, name);
        if (at < 0) break;
        const line = lines[at]!;
        const rest = splitValues(line.value).slice(1);
        if (rest.length === 0) lines.splice(at, 1);
        else {
          line.value = rest.join(", ");
          withText(line, line.index >= 0 ? receivedName(msg, line.index) : canonicalName(name));
        }
        break;
      }
      case "remove-all": {
        const name = headerKey(edit.name);
        for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.name === name) lines.splice(i, 1);
        break;
      }
      case "replace": {
        const line = lines.find((l) => l.index === edit.index);
        if (line === undefined) break;
        line.value = edit.value;
        withText(line, receivedName(msg, edit.index));
        break;
      }
      case "body": {
        body = edit.body;
        if (edit.contentType !== undefined) {
          const at = findLine(lines, "content-type");
          if (at < 0) {
            lines.push(
              withText(
                { name: "content-type", index: -1, value: edit.contentType, text: undefined },
                "Content-Type",
              ),
            );
          } else {
            lines[at]!.value = edit.contentType;
            withText(lines[at]!, "Content-Type");
            removeAfter(lines, "content-type", at);
          }
        } else if (body === "") {
          // No body, so no type: RFC 3261 §20.15 describes the body that is there.
          removeAfter(lines, "content-type", -1);
        }
        break;
      }
    }
  }

  const length = `Content-Length: ${body.length}\r\n`;
  const cl = findLine(lines, "content-length");
  if (cl < 0) lines.push({ name: "content-length", index: -1, value: "", text: length });
  else {
    lines[cl]!.text = length;
    removeAfter(lines, "content-length", cl);
  }

  let out: string;
  if (msg.kind === "request") {
    // RFC 3261 §7.1: one SP between the elements. The parser tolerates runs of SP and HT; a proxy
    // that accepts them must not forward them (RFC 4475 §3.1.2.9, §3.1.2.10), so always rewrite.
    out = `${msg.method} ${uri ?? msg.uri} SIP/2.0\r\n`;
  } else {
    const firstEnd = raw.indexOf("\n") + 1;
    out = firstEnd > 0 ? raw.slice(0, firstEnd) : raw + "\r\n";
  }
  for (const line of lines) {
    if (line.text !== undefined) out += line.text;
    else {
      const h = msg.headers[line.index]!;
      out += raw.slice(h.start, h.end);
      if (raw.charCodeAt(h.end - 1) !== 10) out += "\r\n";
    }
  }
  return out + "\r\n" + body;
}

function withText(line: Line, name: string): Line {
  line.text = `${name}: ${line.value}\r\n`;
  return line;
}

/** Removes every line named `name` after position `after`. */
function removeAfter(lines: Line[], name: string, after: number): void {
  for (let i = lines.length - 1; i > after; i--) if (lines[i]!.name === name) lines.splice(i, 1);
}

const encoder = new TextEncoder();

/** Latin1 text → bytes (one char = one byte), the inverse of parsing. */
export function toBytes(text: string): Uint8Array {
  // ASCII is the common case and TextEncoder is several times faster than Buffer's latin1 path.
  const out = new Uint8Array(text.length);
  const done = encoder.encodeInto(text, out);
  if (done.read === text.length && done.written === text.length) return out;
  return Buffer.from(text, "latin1");
}
