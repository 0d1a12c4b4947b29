/**
 * The client side of baresip's ctrl_tcp module: JSON framed as netstrings (`<length>:<json>,`)
 * both ways. Commands carry a token that their answer repeats; events arrive unasked, any time.
 *
 * @module
 */

import { timer } from "./_harness.ts";

/** A ctrl_tcp event (`"event": true`); which fields are present depends on `type`. */
export interface BaresipEvent {
  /** e.g. CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED, REGISTER_OK, REGISTER_FAIL */
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  /** the call's SIP Call-ID */
  id?: string;
  /** a reason, a URI or "offer"/"answer", depending on `type` */
  param?: string;
  [key: string]: unknown;
}

/** A ctrl_tcp command's answer. */
export interface BaresipResponse {
  ok: boolean;
  /** the command's text output */
  data: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The ctrl_tcp connection: netstring-framed JSON both ways, commands matched by token. */
export class BaresipCtrl {
  readonly events: BaresipEvent[] = [];
  readonly #name: string;
  readonly #dir: string;
  readonly #child: Deno.ChildProcess;
  readonly #pending: BaresipEvent[] = [];
  readonly #answers = new Map<string, (response: BaresipResponse) => void>();
  #conn: Deno.TcpConn | undefined;
  #loop: Promise<void> = Promise.resolve();
  #arrival: (() => void) | undefined;
  #token = 0;

  constructor(name: string, dir: string, child: Deno.ChildProcess) {
    this.#name = name;
    this.#dir = dir;
    this.#child = child;
  }

  /** false when nothing listens */
  async connect(hostname: string, port: number): Promise<boolean> {
    try {
      this.#conn = await Deno.connect({ hostname, port, transport: "tcp" });
    } catch {
      return false;
    }
    this.#loop = this.#read(this.#conn);
    return true;
  }

  async #read(conn: Deno.TcpConn): Promise<void> {
    let buffer = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        n = null; // closed by us
      }
      if (n === null) break;
      const joined = new Uint8Array(buffer.length + n);
      joined.set(buffer);
      joined.set(chunk.subarray(0, n), buffer.length);
      buffer = joined;
      for (;;) {
        const frame = takeNetstring(buffer);
        if (!frame) break;
        buffer = buffer.subarray(frame.next);
        this.#receive(decoder.decode(frame.payload));
      }
    }
    this.#arrival?.();
  }

  #receive(json: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(json);
    } catch {
      return;
    }
    if (message.event === true && typeof message.type === "string") {
      const event = message as BaresipEvent;
      this.events.push(event);
      this.#pending.push(event);
      this.#arrival?.();
    } else if (message.response === true && typeof message.token === "string") {
      this.#answers.get(message.token)?.({
        ok: message.ok === true,
        data: typeof message.data === "string" ? message.data : "",
      });
      this.#answers.delete(message.token);
    }
  }

  async command(name: string, params = "", timeoutMs = 5_000): Promise<BaresipResponse> {
    const conn = this.#conn;
    if (!conn) throw new Error(`${this.#name}: not connected to ctrl_tcp`);
    const token = `t${++this.#token}`;
    const answered = new Promise<BaresipResponse>((resolve) => this.#answers.set(token, resolve));
    const payload = encoder.encode(JSON.stringify({ command: name, params, token }));
    const frame = new Uint8Array([
      ...encoder.encode(`${payload.length}:`),
      ...payload,
      ...encoder.encode(","),
    ]);
    await conn.write(frame);
    const late = timer(timeoutMs, undefined);
    const response = await Promise.race([answered, late.promise]);
    late.clear();
    if (!response) {
      this.#answers.delete(token);
      throw new Error(`${this.#name}: no answer to "${name} ${params}" within ${timeoutMs} ms`);
    }
    return response;
  }

  async commandOk(name: string, params = ""): Promise<BaresipResponse> {
    const response = await this.command(name, params);
    if (!response.ok) {
      throw new Error(`${this.#name}: "${name} ${params}" failed: ${response.data.trim()}`);
    }
    return response;
  }

  async waitForEvent(
    what: string | ((event: BaresipEvent) => boolean),
    timeoutMs: number,
  ): Promise<BaresipEvent> {
    const accepts = typeof what === "string" ? (e: BaresipEvent) => e.type === what : what;
    const label = typeof what === "string" ? what : "a matching event";
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.#child.status.then(() => exited = true);
    for (;;) {
      const i = this.#pending.findIndex(accepts);
      if (i >= 0) return this.#pending.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0 || exited) {
        const seen = this.events.map((e) => e.param ? `${e.type}(${e.param})` : e.type);
        throw new Error(
          `${this.#name}: expected ${label} within ${timeoutMs} ms${
            exited ? " but baresip exited" : ""
          }; events: ${seen.join(", ") || "none"} (dir ${this.#dir})`,
        );
      }
      await new Promise<void>((resolve) => {
        const id = setTimeout(resolve, Math.min(left, 250)); // also notices an exit
        this.#arrival = () => {
          clearTimeout(id);
          resolve();
        };
      });
      this.#arrival = undefined;
    }
  }

  disconnect(): void {
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
  }

  async closed(): Promise<void> {
    await this.#loop;
  }
}

/** One netstring (`<length>:<payload>,`) from the start of `buffer`, or undefined if incomplete. */
function takeNetstring(buffer: Uint8Array): { payload: Uint8Array; next: number } | undefined {
  const colon = buffer.indexOf(0x3a);
  if (colon < 0) return undefined;
  const length = Number(decoder.decode(buffer.subarray(0, colon)));
  if (!Number.isInteger(length)) throw new SyntaxError("Cannot read ctrl_tcp frame: bad length");
  const end = colon + 1 + length;
  if (buffer.length < end + 1) return undefined;
  return { payload: buffer.subarray(colon + 1, end), next: end + 1 };
}
