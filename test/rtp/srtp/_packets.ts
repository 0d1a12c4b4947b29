// RTP and RTCP packets for the SRTP tests, each in a buffer with room to grow.

import type { MasterKey } from "../../../rtp/srtp/suite.ts";

/** A packet in `buf[0, len)`; `buf` has spare room past `len`. */
export interface Packet {
  buf: Uint8Array;
  len: number;
}

export interface RtpFields {
  seq: number;
  ssrc?: number;
  payloadLength?: number;
  csrcs?: readonly number[];
  /** Header extension words (RFC 3550 §5.3.1), after the 4-byte extension header. */
  extensionWords?: number;
  /** Spare bytes past the packet. */
  room?: number;
}

export const SSRC = 0xdecafbad;

/** Deterministic test master key (the RFC 3711 B.3 one). */
export function testKey(): MasterKey {
  return {
    key: hex("E1F97A0D3E018BE0D64FA32C06DE4139"),
    salt: hex("0EC675AD498AFEEBB6960B3AABE6"),
  };
}

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(
    { length: clean.length / 2 },
    (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16),
  );
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An RTP packet (version 2, PT 0) whose payload bytes depend on the sequence number. */
export function rtp(fields: RtpFields): Packet {
  const csrcs = fields.csrcs ?? [];
  const ext = fields.extensionWords;
  const header = 12 + 4 * csrcs.length + (ext === undefined ? 0 : 4 + 4 * ext);
  const len = header + (fields.payloadLength ?? 160);
  const buf = new Uint8Array(len + (fields.room ?? 200));
  const v = new DataView(buf.buffer);
  buf[0] = 0x80 | (ext === undefined ? 0 : 0x10) | csrcs.length;
  buf[1] = 0;
  v.setUint16(2, fields.seq & 0xffff);
  v.setUint32(4, fields.seq * 160 >>> 0);
  v.setUint32(8, fields.ssrc ?? SSRC);
  csrcs.forEach((c, i) => v.setUint32(12 + 4 * i, c));
  if (ext !== undefined) {
    const at = 12 + 4 * csrcs.length;
    v.setUint16(at, 0xbede);
    v.setUint16(at + 2, ext);
    for (let i = 0; i < 4 * ext; i++) buf[at + 4 + i] = 0xe0 + i;
  }
  for (let i = header; i < len; i++) buf[i] = (fields.seq + i) & 0xff;
  return { buf, len };
}

/** An RTCP sender report (RFC 3550 §6.4.1) with no report blocks, from `ssrc`. */
export function rtcp(ssrc = SSRC, room = 200): Packet {
  const len = 28;
  const buf = new Uint8Array(len + room);
  const v = new DataView(buf.buffer);
  buf[0] = 0x80;
  buf[1] = 200;
  v.setUint16(2, len / 4 - 1);
  v.setUint32(4, ssrc);
  for (let i = 8; i < len; i++) buf[i] = i;
  return { buf, len };
}

/** A copy of `p` with the same spare room. */
export function copy(p: Packet): Packet {
  return { buf: p.buf.slice(), len: p.len };
}

/** The packet bytes, `buf[0, len)`, as hex (for equality checks with readable diffs). */
export function bytesOf(p: Packet): string {
  return toHex(p.buf.subarray(0, p.len));
}
