/**
 * A small SIP peer for the media tests: a real UDP endpoint on the wire that sends raw SIP texts
 * and parses what the SBC forwards with sbc/message/message.ts, for flows sipp makes awkward (re-INVITEs
 * with new SDP, offerless re-INVITEs, calls in both directions from one test).
 *
 * It speaks just enough RFC 3261: no retransmissions (loopback loses nothing and it answers at
 * once), responses copy Via and Record-Route, in-dialog requests follow the route set
 * (§12.2.1.1) to the first Route's address.
 */
import { getHeaderValues, parseMessage } from "../../sbc/message/message.ts";
import { type SipMessage } from "../../sbc/message/sip_message.ts";
import { parseNameAddr } from "../../sbc/message/header_codecs.ts";
import { parseUri } from "../../sbc/message/uri.ts";
import { StreamFramer } from "../../sbc/transport/tcp_framing.ts";
import { createConnection, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface SipAddress {
  host: string;
  port: number;
}

/** A SIP message the endpoint received, with its source. */
export interface Inbound {
  msg: SipMessage;
  from: SipAddress;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

/** How a test's SIP party is reached, as written in its Via and Contact. */
export type SipTransportName = "UDP" | "TCP" | "TLS";

export interface EndpointOptions {
  /**
   * The address the party writes in its Via, Contact and From, as a phone behind NAT writes its
   * private one; default where it really is.
   */
  advertised?: SipAddress;
}

/**
 * What every test SIP party shares, whatever carries its messages: a queue of what arrived, handed
 * out on request, and the address it writes in its own headers.
 */
export abstract class SipParty {
  abstract readonly host: string;
  abstract readonly port: number;
  abstract readonly transport: SipTransportName;
  /** everything received, in order, for assertion messages */
  readonly log: Inbound[] = [];
  readonly #queue: Inbound[] = [];
  #arrival: (() => void) | undefined;
  readonly #advertised: SipAddress | undefined;

  constructor(options: EndpointOptions) {
    this.#advertised = options.advertised;
  }

  /** Where the party says it is (Via, Contact, From). */
  get advertised(): SipAddress {
    return this.#advertised ?? { host: this.host, port: this.port };
  }

  /** Its Contact URI, with `;transport=` unless UDP. */
  get contactUri(): string {
    const { host, port } = this.advertised;
    const t = this.transport === "UDP" ? "" : `;transport=${this.transport.toLowerCase()}`;
    return `sip:${host}:${port}${t}`;
  }

  abstract send(text: string, to: SipAddress): Promise<void>;
  abstract close(): Promise<void>;

  protected accept(data: Uint8Array, from: SipAddress): void {
    const parsed = parseMessage(decoder.decode(data));
    if (!parsed.ok) return; // keepalives, garbage
    const inbound = { msg: parsed.value, from };
    this.log.push(inbound);
    this.#queue.push(inbound);
    this.#arrival?.();
  }

  /** Takes the first queued (or next arriving) message that `predicate` accepts. */
  async expect(
    predicate: (msg: SipMessage) => boolean,
    what: string,
    timeoutMs = 3_000,
  ): Promise<Inbound> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#queue.findIndex((m) => predicate(m.msg));
      if (i >= 0) return this.#queue.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.log.map(({ msg }) => startLine(msg)).join("; ");
        throw new Error(
          `${this.host}:${this.port} expected ${what} within ${timeoutMs} ms; received: ${
            seen || "nothing"
          }`,
        );
      }
      await new Promise<void>((resolve) => {
        const id = setTimeout(resolve, left);
        this.#arrival = () => {
          clearTimeout(id);
          resolve();
        };
      });
      this.#arrival = undefined;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A UDP SIP endpoint: sends texts, queues what arrives, hands out messages on request. */
export class SipEndpoint extends SipParty {
  readonly host: string;
  readonly port: number;
  readonly transport = "UDP";
  /**
   * Destination addresses rewritten on send, as a 1:1 NAT in front of the SBC would: the SBC
   * advertises the public address and packets for it reach the private one.
   */
  readonly nat = new Map<string, string>();
  readonly #conn: Deno.DatagramConn;
  readonly #loop: Promise<void>;

  constructor(host: string, port: number, options: EndpointOptions = {}) {
    super(options);
    this.#conn = Deno.listenDatagram({ transport: "udp", hostname: host, port });
    this.host = host;
    this.port = (this.#conn.addr as Deno.NetAddr).port;
    this.#loop = this.#receive();
  }

  async #receive(): Promise<void> {
    for (;;) {
      try {
        const [bytes, from] = await this.#conn.receive();
        const addr = from as Deno.NetAddr;
        this.accept(bytes, { host: addr.hostname, port: addr.port });
      } catch {
        return; // closed
      }
    }
  }

  async send(text: string, to: SipAddress): Promise<void> {
    await this.#conn.send(encoder.encode(text), {
      transport: "udp",
      hostname: this.nat.get(to.host) ?? to.host,
      port: to.port,
    });
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#loop;
  }
}

/**
 * A SIP party on one TCP or TLS connection it opened to the SBC (node:net, so it can choose its
 * source address as a phone on another host would): every message goes over it, whatever `to`.
 */
export class SipStreamEndpoint extends SipParty {
  readonly host: string;
  readonly port: number;
  readonly transport: SipTransportName;
  readonly #socket: Socket;
  readonly #closed: Promise<void>;

  private constructor(socket: Socket, transport: SipTransportName, options: EndpointOptions) {
    super(options);
    this.#socket = socket;
    this.transport = transport;
    this.host = socket.localAddress ?? "";
    this.port = socket.localPort ?? 0;
    const framer = new StreamFramer();
    const from = { host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    socket.on("data", (chunk: Uint8Array) => {
      for (const item of framer.push(chunk)) if (item.ok) this.accept(item.message, from);
    });
    this.#closed = new Promise((resolve) => socket.on("close", () => resolve()));
    socket.on("error", () => {}); // "close" follows
  }

  /** Connects from `local` (a host) to the SBC at `to`; TLS when `tls` is given. */
  static async connect(
    local: string,
    to: SipAddress,
    options: EndpointOptions & { tls?: { ca: string; cert?: string; key?: string } } = {},
  ): Promise<SipStreamEndpoint> {
    const plain = createConnection({ host: to.host, port: to.port, localAddress: local });
    await new Promise<void>((resolve, reject) => {
      plain.once("connect", resolve);
      plain.once("error", reject);
    });
    if (!options.tls) return new SipStreamEndpoint(plain, "TCP", options);
    const { ca, cert, key } = options.tls;
    const secure = tlsConnect({
      socket: plain,
      ca: await Deno.readTextFile(ca),
      ...(cert && key
        ? { cert: await Deno.readTextFile(cert), key: await Deno.readTextFile(key) }
        : {}),
      checkServerIdentity: () => undefined, // the CA is the test's own; the SAN is an IP
    });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", resolve);
      secure.once("error", reject);
    });
    return new SipStreamEndpoint(secure, "TLS", options);
  }

  send(text: string, _to: SipAddress): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#socket.write(encoder.encode(text), (err) => err ? reject(err) : resolve())
    );
  }

  /** Resolves once the SBC closed the connection (or it was closed here). */
  get closed(): Promise<void> {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#socket.destroy();
    await this.#closed;
  }
}

export function startLine(msg: SipMessage): string {
  return msg.kind === "request"
    ? `${msg.method} (CSeq ${msg.cseq.seq})`
    : `${msg.status} ${msg.reason} (CSeq ${msg.cseq.seq} ${msg.method})`;
}

/** A request with this method (and CSeq number when given). */
export function isRequest(method: string, cseq?: number) {
  return (msg: SipMessage) =>
    msg.kind === "request" && msg.method === method &&
    (cseq === undefined || msg.cseq.seq === cseq);
}

/** A response to `method`/`cseq` with a status in [min, max]. */
export function isResponse(method: string, cseq: number, min: number, max = min) {
  return (msg: SipMessage) =>
    msg.kind === "response" && msg.method === method && msg.cseq.seq === cseq &&
    msg.status >= min && msg.status <= max;
}

/** Where a URI points: its host and port (5060 when absent). */
function uriAddress(uri: string): SipAddress {
  const parsed = parseUri(uri);
  if (!parsed) throw new Error(`not a SIP URI: ${uri}`);
  return { host: parsed.host, port: parsed.port ?? 5060 };
}

function nameAddrUri(value: string): string {
  const parsed = parseNameAddr(value);
  if (!parsed) throw new Error(`not a name-addr: ${value}`);
  return parsed.uri;
}

function header(msg: SipMessage, name: string): string {
  const value = getHeaderValues(msg, name)[0];
  if (value === undefined) throw new Error(`${startLine(msg)} has no ${name}`);
  return value;
}

/** The tag parameter of a From or To value. */
function tagOf(value: string): string | undefined {
  return /;tag=([^;]+)/.exec(value)?.[1];
}

function hostPort(a: SipAddress): string {
  return `${a.host}:${a.port}`;
}

/** A fresh top Via for a request from `endpoint`; `rport` when it is behind NAT (RFC 3581). */
function viaOf(endpoint: SipParty): string {
  const { host, port } = endpoint.advertised;
  const nat = host !== endpoint.host || port !== endpoint.port;
  return `Via: SIP/2.0/${endpoint.transport} ${host}:${port};branch=z9hG4bK-${id()}${
    nat ? ";rport" : ""
  }`;
}

function id(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 16);
}

function withBody(lines: string[], body: string | undefined): string {
  if (body === undefined) return [...lines, "Content-Length: 0", "", ""].join("\r\n");
  return [
    ...lines,
    "Content-Type: application/sdp",
    `Content-Length: ${encoder.encode(body).byteLength}`,
    "",
    body,
  ].join("\r\n");
}

/** One side's view of a dialog (RFC 3261 §12), plus the endpoint that speaks for it. */
export interface Dialog {
  endpoint: SipParty;
  callId: string;
  localUri: string;
  localTag: string;
  remoteUri: string;
  remoteTag: string;
  remoteTarget: string;
  /** name-addr values, first hop first */
  routeSet: string[];
  cseq: number;
}

/** A request this side sent, kept for the hop-by-hop ACK and CANCEL it may need. */
export interface SentRequest {
  text: string;
  method: string;
  uri: string;
  via: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  routes: string[];
  dest: SipAddress;
}

/** Sends a response to `request` towards its top Via (RFC 3261 §18.2.2; rport not needed here). */
export async function respond(
  endpoint: SipParty,
  request: SipMessage,
  status: number,
  reason: string,
  options: { toTag?: string; body?: string; headers?: readonly string[] } = {},
): Promise<void> {
  const vias = request.headers.filter((h) => h.name === "via").map((h) => `Via: ${h.value}`);
  const to = header(request, "to");
  const dialogForming = status > 100 && status < 300 &&
    (request.method === "INVITE" || request.method === "SUBSCRIBE");
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    ...vias,
    ...(dialogForming
      ? request.headers.filter((h) => h.name === "record-route").map((h) =>
        `Record-Route: ${h.value}`
      )
      : []),
    `From: ${header(request, "from")}`,
    `To: ${request.toTag === undefined && options.toTag ? `${to};tag=${options.toTag}` : to}`,
    `Call-ID: ${request.callId}`,
    `CSeq: ${request.cseq.seq} ${request.cseq.method}`,
    ...(dialogForming ? [`Contact: <${endpoint.contactUri}>`] : []),
    ...options.headers ?? [],
  ];
  const top = request.vias[0];
  if (!top) throw new Error(`${startLine(request)} has no Via`);
  await endpoint.send(withBody(lines, options.body), {
    host: top.params.received ?? top.host,
    port: Number(top.params.rport) || top.port || 5060,
  });
}

function requestText(
  endpoint: SipParty,
  r: Omit<SentRequest, "text" | "dest">,
  body: string | undefined,
): string {
  return withBody([
    `${r.method} ${r.uri} SIP/2.0`,
    r.via,
    ...r.routes.map((route) => `Route: ${route}`),
    `From: ${r.from}`,
    `To: ${r.to}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} ${r.method}`,
    `Contact: <${endpoint.contactUri}>`,
    "Max-Forwards: 70",
  ], body);
}

/**
 * Sends an initial INVITE from `endpoint` to the SBC at `sbc`. The Request-URI defaults to a user
 * at the SBC itself, which the SBC routes to the PBX; a call from the PBX names the phone.
 * No `body`: a late offer (the SDP offer comes in the 2xx, the answer in the ACK).
 */
export async function sendInvite(
  endpoint: SipParty,
  sbc: SipAddress,
  body: string | undefined,
  uri = `sip:service@${sbc.host}:${sbc.port}`,
  routes: string[] = [],
): Promise<SentRequest> {
  const r = {
    method: "INVITE",
    uri,
    via: viaOf(endpoint),
    from: `<sip:caller@${hostPort(endpoint.advertised)}>;tag=${id()}`,
    to: `<${uri}>`,
    callId: `${id()}@${endpoint.advertised.host}`,
    cseq: 1,
    routes,
  };
  const text = requestText(endpoint, r, body);
  await endpoint.send(text, sbc);
  return { ...r, text, dest: sbc };
}

/** The caller's dialog from the 2xx to its INVITE (route set is the reversed Record-Route). */
export function callerDialog(endpoint: SipParty, invite: SentRequest, ok: SipMessage): Dialog {
  return {
    endpoint,
    callId: invite.callId,
    localUri: `sip:caller@${hostPort(endpoint.advertised)}`,
    localTag: /;tag=([^;]+)/.exec(invite.from)![1]!,
    remoteUri: nameAddrUri(header(ok, "to")),
    remoteTag: ok.toTag ?? "",
    remoteTarget: nameAddrUri(header(ok, "contact")),
    routeSet: getHeaderValues(ok, "record-route").reverse(),
    cseq: invite.cseq,
  };
}

/** The callee's dialog from the INVITE it received and the tag it answered with. */
export function calleeDialog(endpoint: SipParty, invite: SipMessage, localTag: string): Dialog {
  return {
    endpoint,
    callId: invite.callId,
    localUri: nameAddrUri(header(invite, "to")),
    localTag,
    remoteUri: nameAddrUri(header(invite, "from")),
    remoteTag: invite.fromTag ?? "",
    remoteTarget: nameAddrUri(header(invite, "contact")),
    routeSet: getHeaderValues(invite, "record-route"),
    cseq: 0,
  };
}

/** Sends an in-dialog request along the route set; ACK reuses the current CSeq number. */
export async function sendInDialog(
  dialog: Dialog,
  method: string,
  body?: string,
): Promise<SentRequest> {
  if (method !== "ACK") dialog.cseq++;
  const { endpoint } = dialog;
  const r = {
    method,
    uri: dialog.remoteTarget,
    via: viaOf(endpoint),
    from: `<${dialog.localUri}>;tag=${dialog.localTag}`,
    to: `<${dialog.remoteUri}>;tag=${dialog.remoteTag}`,
    callId: dialog.callId,
    cseq: dialog.cseq,
    routes: dialog.routeSet,
  };
  const first = dialog.routeSet[0];
  const dest = uriAddress(first ? nameAddrUri(first) : dialog.remoteTarget);
  const text = requestText(endpoint, r, body);
  await endpoint.send(text, dest);
  return { ...r, text, dest };
}

/** The hop-by-hop ACK for a non-2xx final response (RFC 3261 §17.1.1.3). */
export async function ackFailure(
  endpoint: SipParty,
  request: SentRequest,
  response: SipMessage,
): Promise<void> {
  const text = requestText(endpoint, {
    ...request,
    method: "ACK",
    to: header(response, "to"),
  }, undefined);
  await endpoint.send(text, request.dest);
}

/** CANCEL for a pending INVITE: same Request-URI, Via branch and route (RFC 3261 §9.1). */
export async function sendCancel(endpoint: SipParty, invite: SentRequest): Promise<void> {
  await endpoint.send(
    requestText(endpoint, { ...invite, method: "CANCEL" }, undefined),
    invite.dest,
  );
}

/** Both ends of one call through the SBC and the SDP each received. */
export interface Call {
  caller: Dialog;
  callee: Dialog;
  /** the offer as the callee received it */
  offerAtCallee: string;
  /** the answer as the caller received it */
  answerAtCaller: string;
}

/**
 * `caller` calls through the SBC at `sbc` (by default towards the PBX), `callee` answers 200
 * with `answer` and the caller ACKs; resolves once the ACK reached the callee.
 */
export async function establishCall(
  caller: SipParty,
  callee: SipParty,
  sbc: SipAddress,
  offer: string,
  answer: string,
  uri?: string,
  routes?: string[],
): Promise<Call> {
  const invite = await sendInvite(caller, sbc, offer, uri, routes);
  const atCallee = await callee.expect(
    // By From tag: topology hiding may show the callee another Call-ID.
    (m) => isRequest("INVITE", 1)(m) && m.fromTag === tagOf(invite.from),
    "the INVITE",
  );
  const tag = id();
  await respond(callee, atCallee.msg, 200, "OK", { toTag: tag, body: answer });
  const ok = await caller.expect(isResponse("INVITE", 1, 200, 299), "200 to the INVITE");
  const callerSide = callerDialog(caller, invite, ok.msg);
  await sendInDialog(callerSide, "ACK");
  await callee.expect(
    (m) => isRequest("ACK", 1)(m) && m.fromTag === tagOf(invite.from),
    "the ACK",
  );
  return {
    caller: callerSide,
    callee: calleeDialog(callee, atCallee.msg, tag),
    offerAtCallee: atCallee.msg.body,
    answerAtCaller: ok.msg.body,
  };
}

/** What a re-INVITE through the SBC looked like at both ends. */
export interface ReInvite {
  status: number;
  /** the offer as the far end received it */
  offerAtFar: string;
  /** the answer as the offerer received it ("" for a failure) */
  answerAtNear: string;
}

/**
 * `near` sends a re-INVITE with `offer`; `far` answers 200 with `answer`, or `reject` (e.g. 488);
 * `near` ACKs. Resolves once the dialog is back to idle.
 */
export async function reInvite(
  near: Dialog,
  far: Dialog,
  offer: string,
  reply: { answer: string } | { reject: number; reason: string },
): Promise<ReInvite> {
  const sent = await sendInDialog(near, "INVITE", offer);
  const atFar = await far.endpoint.expect(
    (m) => isRequest("INVITE", sent.cseq)(m) && m.fromTag === near.localTag,
    `re-INVITE CSeq ${sent.cseq}`,
  );
  if ("answer" in reply) {
    await respond(far.endpoint, atFar.msg, 200, "OK", { body: reply.answer });
  } else {
    await respond(far.endpoint, atFar.msg, reply.reject, reply.reason);
  }
  const final = await near.endpoint.expect(
    isResponse("INVITE", sent.cseq, 200, 699),
    `final response to re-INVITE CSeq ${sent.cseq}`,
  );
  if (final.msg.status < 300) {
    await sendInDialog(near, "ACK");
    await far.endpoint.expect(isRequest("ACK", sent.cseq), `ACK CSeq ${sent.cseq}`);
  } else {
    await ackFailure(near.endpoint, sent, final.msg);
  }
  return {
    status: final.msg.status,
    offerAtFar: atFar.msg.body,
    answerAtNear: final.msg.status < 300 ? final.msg.body : "",
  };
}

/**
 * REGISTERs `user` at the SBC (Contact: the party's advertised address); resolves with the
 * request as the registrar (`pbx`) received it, after the registrar answered 200 with `expires`.
 */
export async function register(
  phone: SipParty,
  sbc: SipAddress,
  pbx: SipParty,
  user: string,
  expires = 60,
): Promise<SipMessage> {
  const callId = `${id()}@${phone.advertised.host}`;
  await phone.send(
    [
      `REGISTER sip:${sbc.host} SIP/2.0`,
      viaOf(phone),
      "Max-Forwards: 70",
      `From: <sip:${user}@${sbc.host}>;tag=${id()}`,
      `To: <sip:${user}@${sbc.host}>`,
      `Call-ID: ${callId}`,
      "CSeq: 1 REGISTER",
      `Contact: <${phone.contactUri.replace("sip:", `sip:${user}@`)}>`,
      `Expires: ${expires}`,
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
    sbc,
  );
  const atPbx = await pbx.expect(
    (m) => isRequest("REGISTER")(m) && m.callId === callId,
    `${user}'s REGISTER`,
  );
  await respond(pbx, atPbx.msg, 200, "OK");
  await phone.expect((m) => isResponse("REGISTER", 1, 200)(m) && m.callId === callId, "200");
  return atPbx.msg;
}

/** `near` sends BYE, `far` answers 200. */
export async function hangUp(near: Dialog, far: Dialog): Promise<void> {
  const bye = await sendInDialog(near, "BYE");
  const atFar = await far.endpoint.expect(isRequest("BYE", bye.cseq), "the BYE");
  await respond(far.endpoint, atFar.msg, 200, "OK");
  await near.endpoint.expect(isResponse("BYE", bye.cseq, 200), "200 to the BYE");
}

/** How an `AutoPbx` treats what arrives: answers, a failure status, or silence (a PBX gone). */
export type PbxMode = "answer" | "silent" | number;

/**
 * A PBX that answers by itself, in the background: OPTIONS 200 (health pings), INVITE 200 with
 * `sdp` (or the failure status its mode says), BYE 200; silent, it takes everything and says
 * nothing. `invites` counts the calls (Call-IDs) whose INVITE it received, answered or not:
 * retransmissions are one.
 */
export class AutoPbx implements AsyncDisposable {
  readonly endpoint: SipEndpoint;
  mode: PbxMode = "answer";
  /** What it answers to OPTIONS (a health ping). */
  optionsStatus = 200;
  readonly #calls = new Set<string>();
  options = 0;
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(host: string, port: number, readonly sdp: (port: number) => string) {
    this.endpoint = new SipEndpoint(host, port);
    this.#loop = this.#run();
  }

  get invites(): number {
    return this.#calls.size;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let inbound: Inbound;
      try {
        inbound = await this.endpoint.expect((m) => m.kind === "request", "a request", 200);
      } catch {
        continue; // nothing within 200 ms: look at #stopped again
      }
      const { msg } = inbound;
      if (msg.method === "INVITE") this.#calls.add(msg.callId);
      if (msg.method === "OPTIONS") this.options++;
      if (this.mode === "silent" || msg.method === "ACK") continue;
      if (msg.method === "INVITE" && typeof this.mode === "number") {
        await respond(this.endpoint, msg, this.mode, "Failed", { toTag: id() });
        continue;
      }
      if (msg.method === "OPTIONS" && this.optionsStatus !== 200) {
        await respond(this.endpoint, msg, this.optionsStatus, "Not OK", { toTag: id() });
        continue;
      }
      const body = msg.method === "INVITE" ? this.sdp(this.invites) : undefined;
      await respond(this.endpoint, msg, 200, "OK", {
        toTag: id(),
        ...(body !== undefined && { body }),
      });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    await this.endpoint.close();
  }
}
