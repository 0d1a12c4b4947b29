/**
 * The relay unit tests' kit: fake phone and PBX endpoints on loopback, SIP messages around an SDP,
 * and a relay between the two sides (test/rtp/relay_test.ts, test/rtp/srtp_relay_test.ts).
 */
import assert from "node:assert/strict";
import type { Side } from "../../config/config.ts";
import { MediaRelay } from "../../rtp/relay.ts";
import type { MediaContext, MediaOutcome, MediaSide } from "../../rtp/relay_types.ts";
import { mediaMessage } from "../../sbc/proxy/media_seam.ts";
import type { SipMessage } from "../../sbc/message/sip_message.ts";
import { ManualClock } from "../kit/manual_clock.ts";
import { parse } from "../kit/sip_text.ts";

// Relay addresses (one per side) and the fake phone (external) and PBX (internal).
export const EXT = "127.0.1.1";
export const INT = "127.0.2.1";
export const PHONE = "127.0.1.10";
export const PBX = "127.0.2.10";
export const ATTACKER = "127.0.1.20";
export const RANGE: [number, number] = [41000, 41019];

/** A UDP endpoint that records what it receives. */
export class Endpoint {
  readonly conn: Deno.DatagramConn;
  readonly got: { data: Uint8Array; from: Deno.NetAddr }[] = [];
  #waiters: (() => void)[] = [];
  readonly #loop: Promise<void>;

  constructor(readonly host: string, readonly port: number) {
    this.conn = Deno.listenDatagram({ transport: "udp", hostname: host, port });
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    for (;;) {
      try {
        const [data, from] = await this.conn.receive();
        this.got.push({ data, from: from as Deno.NetAddr });
        for (const w of this.#waiters.splice(0)) w();
      } catch {
        return;
      }
    }
  }

  async send(host: string, port: number, text: string): Promise<void> {
    await this.conn.send(new TextEncoder().encode(text), {
      transport: "udp",
      hostname: host,
      port,
    });
  }

  /** Waits until `n` packets arrived or `ms` passed; returns how many arrived. */
  async waitFor(n: number, ms = 1000): Promise<number> {
    const end = Date.now() + ms;
    while (this.got.length < n && Date.now() < end) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.max(1, end - Date.now()));
      });
      clearTimeout(timer);
    }
    return this.got.length;
  }

  last(): { text: string; from: Deno.NetAddr } {
    const p = this.got.at(-1)!;
    return { text: new TextDecoder().decode(p.data), from: p.from };
  }

  async close(): Promise<void> {
    this.conn.close();
    await this.#loop;
  }
}

export function sdp(ip: string, streams: [string, number][], extra: string[] = []): string {
  const lines = ["v=0", `o=- 100 1 IN IP4 ${ip}`, "s=-", `c=IN IP4 ${ip}`, "t=0 0", ...extra];
  for (const [type, port] of streams) {
    lines.push(`m=${type} ${port} RTP/AVP ${type === "audio" ? "0" : "96"}`);
  }
  return lines.join("\r\n") + "\r\n";
}

export interface Dialog {
  callId: string;
  callerTag: string;
  calleeTag: string;
}

export function headers(
  d: Dialog,
  method: string,
  cseq: number,
  byCallee: boolean,
  withTo: boolean,
  body: string,
): string {
  const [fromTag, toTag] = byCallee ? [d.calleeTag, d.callerTag] : [d.callerTag, d.calleeTag];
  return [
    `Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-${method}-${cseq}`,
    `From: <sip:a@example.com>;tag=${fromTag}`,
    `To: <sip:b@example.com>${withTo ? `;tag=${toTag}` : ""}`,
    `Call-ID: ${d.callId}`,
    `CSeq: ${cseq} ${method}`,
    "Max-Forwards: 70",
    ...(body ? ["Content-Type: application/sdp"] : []),
    `Content-Length: ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

export function request(
  d: Dialog,
  method: string,
  cseq: number,
  body = "",
  opts: { byCallee?: boolean; inDialog?: boolean } = {},
): SipMessage {
  const inDialog = opts.inDialog ?? method !== "INVITE";
  const text = `${method} sip:b@example.com SIP/2.0\r\n` +
    headers(d, method, cseq, opts.byCallee ?? false, inDialog, body);
  return parse(text);
}

export function response(
  d: Dialog,
  status: number,
  method: string,
  cseq: number,
  body = "",
  byCallee = false,
): SipMessage {
  return parse(`SIP/2.0 ${status} X\r\n` + headers(d, method, cseq, byCallee, true, body));
}

export function ctx(msg: SipMessage, from: Side, flags = "", inDialog?: boolean): MediaContext {
  return {
    msg: mediaMessage(msg),
    from,
    to: from === "external" ? "internal" : "external",
    source: { host: from === "external" ? PHONE : PBX, port: 5060 },
    flags,
    inDialog: inDialog ?? msg.toTag !== undefined,
  };
}

export function body(outcome: MediaOutcome): string {
  assert.equal(outcome.kind, "body", JSON.stringify(outcome));
  return (outcome as { body: string }).body;
}

/** RTP ports per m= line and the c= address of an SDP. */
export function media(text: string): { address: string; ports: number[] } {
  const address = /^c=IN IP4 (\S+)/m.exec(text)![1]!;
  const ports = [...text.matchAll(/^m=\w+ (\d+)/gm)].map((m) => Number(m[1]));
  return { address, ports };
}

/** Ports come back once the closed sockets' receive loops have ended (a few event-loop turns). */
export async function portsInUse(relay: MediaRelay, expected: number): Promise<number> {
  for (let i = 0; i < 100 && relay.stats().portsInUse !== expected; i++) {
    await new Promise((r) => setTimeout(r, 2));
  }
  return relay.stats().portsInUse;
}

export function addr(a: Deno.NetAddr): string {
  return `${a.hostname}:${a.port}`;
}

export function setup(
  ports: [number, number] = RANGE,
  caps: { maxStreams?: number; maxOffersPerSource?: number; maxSessionsPerSource?: number } = {},
  sides: { external?: Partial<MediaSide>; internal?: Partial<MediaSide> } = {},
) {
  const clock = new ManualClock();
  const relay = new MediaRelay({
    ...caps,
    sides: {
      external: { media: EXT, advertise: undefined, ...sides.external },
      internal: { media: INT, advertise: undefined, ...sides.internal },
    },
    ports,
    timeout: 60,
    holdTimeout: 600,
    offerTimeout: 180,
    clock,
  });
  return { clock, relay };
}

let n = 0;
export function dialog(): Dialog {
  n++;
  return { callId: `call-${n}@test`, callerTag: `caller${n}`, calleeTag: `callee${n}` };
}

/** Sets up phone → PBX with one audio stream; returns the relay ports on each side. */
