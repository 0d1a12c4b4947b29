/**
 * Splits a TCP (or TLS) byte stream into SIP messages (RFC 3261 §18.3): the header block ends at
 * the first empty line and Content-Length, mandatory on streams, gives the body size.
 */

/** A framed message (a copy, safe to keep), or a framing error after which the stream is unusable. */
export type FramedItem =
  | { readonly ok: true; readonly message: Uint8Array }
  | { readonly ok: false; readonly error: string };

/** Largest header block and largest body accepted, in bytes. */
export const MAX_HEADER_BYTES = 65536;
export const MAX_BODY_BYTES = 65536;

const CR = 13;
const LF = 10;

/**
 * Finds Content-Length (or compact `l`) in a header block; -1 when absent, -2 when malformed or
 * conflicting.
 */
function contentLength(block: Uint8Array): number {
  let found = -1;
  let pos = 0;
  while (pos < block.length) {
    let end = block.indexOf(LF, pos);
    if (end < 0) end = block.length;
    let colon = pos;
    while (colon < end && block[colon] !== 58) colon++;
    let nameEnd = colon;
    while (nameEnd > pos && (block[nameEnd - 1] === 32 || block[nameEnd - 1] === 9)) nameEnd--;
    const len = nameEnd - pos;
    if (colon < end && (len === 1 || len === 14)) {
      let name = "";
      for (let i = pos; i < nameEnd; i++) name += String.fromCharCode(block[i]! | 0x20);
      if (name === "l" || name === "content-length") {
        let value = "";
        for (let i = colon + 1; i < end; i++) value += String.fromCharCode(block[i]!);
        value = value.trim();
        if (!/^\d{1,10}$/.test(value)) return -2;
        const n = Number(value);
        if (found >= 0 && found !== n) return -2;
        found = n;
      }
    }
    pos = end + 1;
  }
  return found;
}

/** Accumulates stream chunks and yields whole messages, skipping CRLF keep-alives (RFC 5626 §3.5.1). */
export class StreamFramer {
  /** Bytes of a message begun but not complete (a deadline applies to them). */
  get pending(): number {
    return this.#end - this.#start;
  }

  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  /** Where the search for the end of the header block resumes. */
  #scan = 0;
  #failed = false;
  /** Body start and length of the message being completed, once its header block is known. */
  #bodyStart = -1;
  #length = 0;

  /** Adds `chunk` (copied) and returns every message now complete, in order. */
  push(chunk: Uint8Array): FramedItem[] {
    if (this.#failed) return [];
    this.#append(chunk);
    const out: FramedItem[] = [];
    for (;;) {
      const buf = this.#buf;
      while (
        this.#bodyStart < 0 && this.#start < this.#end &&
        (buf[this.#start] === CR || buf[this.#start] === LF)
      ) this.#start++;
      if (this.#start === this.#end) {
        this.#start = this.#end = this.#scan = 0;
        break;
      }
      if (this.#bodyStart < 0 && !this.#frameHeaders(out)) break;
      const end = this.#bodyStart + this.#length;
      if (end > this.#end) break;
      out.push({ ok: true, message: buf.slice(this.#start, end) });
      this.#start = this.#scan = end;
      this.#bodyStart = -1;
    }
    return out;
  }

  /** Locates the header block and reads Content-Length; false when more bytes are needed or on error. */
  #frameHeaders(out: FramedItem[]): boolean {
    const bodyStart = this.#headerEnd();
    const tooLarge = `Cannot frame message: header block is larger than ${MAX_HEADER_BYTES} bytes`;
    if (bodyStart < 0) {
      if (this.#end - this.#start > MAX_HEADER_BYTES) out.push(this.#fail(tooLarge));
      return false;
    }
    if (bodyStart - this.#start > MAX_HEADER_BYTES) {
      out.push(this.#fail(tooLarge));
      return false;
    }
    const length = contentLength(this.#buf.subarray(this.#start, bodyStart));
    if (length === -1) {
      // RFC 3261 §18.3: on a stream Content-Length is mandatory, nothing else can frame it.
      out.push(this.#fail("Cannot frame message: Content-Length header is missing"));
      return false;
    }
    if (length < 0) {
      out.push(this.#fail("Cannot frame message: Content-Length header is malformed"));
      return false;
    }
    if (length > MAX_BODY_BYTES) {
      out.push(
        this.#fail(
          `Cannot frame message: body of ${length} bytes is larger than ${MAX_BODY_BYTES}`,
        ),
      );
      return false;
    }
    this.#bodyStart = bodyStart;
    this.#length = length;
    return true;
  }

  #fail(error: string): FramedItem {
    this.#failed = true;
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = this.#scan = 0;
    this.#bodyStart = -1;
    return { ok: false, error };
  }

  #append(chunk: Uint8Array): void {
    const size = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      const need = size + chunk.length;
      // Compact in place when that makes room, else grow geometrically.
      const target = need <= this.#buf.length / 2 ? this.#buf : new Uint8Array(
        Math.max(this.#buf.length * 2, need + 4096),
      );
      if (target === this.#buf) target.copyWithin(0, this.#start, this.#end);
      else target.set(this.#buf.subarray(this.#start, this.#end));
      this.#scan -= this.#start;
      if (this.#bodyStart >= 0) this.#bodyStart -= this.#start;
      this.#buf = target;
      this.#start = 0;
      this.#end = size;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Offset just past the empty line ending the header block, or -1 (LF-only endings tolerated). */
  #headerEnd(): number {
    const buf = this.#buf;
    const end = this.#end;
    let i = Math.max(this.#scan, this.#start);
    for (; i < end; i++) {
      if (buf[i] !== LF) continue;
      if (i + 1 >= end) break;
      if (buf[i + 1] === LF) return i + 2;
      if (buf[i + 1] === CR) {
        if (i + 2 >= end) break;
        if (buf[i + 2] === LF) return i + 3;
      }
    }
    // Resume at an LF whose follower has not arrived yet, so a split terminator is still seen.
    this.#scan = i;
    return -1;
  }
}
