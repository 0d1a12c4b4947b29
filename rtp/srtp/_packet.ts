/**
 * The few RTP and RTCP header fields SRTP needs (RFC 3550 §5.1, §6.4), read straight from the
 * buffer. Internal to rtp/srtp/.
 *
 * @module
 */

/** Fixed RTP header bytes; also the smallest RTP packet. */
export const RTP_HEADER = 12;
/** RTCP header plus the sender's SSRC: the part SRTCP leaves unencrypted (RFC 3711 §3.4). */
export const RTCP_HEADER = 8;

/**
 * Bytes of the RTP header in `buf[0, len)`: the fixed part, the CSRC list and the header
 * extension (SRTP encrypts only what follows, RFC 3711 §3.1); -1 when the packet is not RTP
 * version 2 or its header runs past `len`.
 */
export function rtpHeaderLength(buf: Uint8Array, len: number): number {
  if (len < RTP_HEADER || len > buf.length) return -1;
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return -1;
  let h = RTP_HEADER + 4 * (b0 & 0x0f);
  if ((b0 & 0x10) !== 0) {
    if (h + 4 > len) return -1;
    h += 4 + 4 * ((buf[h + 2]! << 8) | buf[h + 3]!);
  }
  return h > len ? -1 : h;
}

/** `buf[0, len)` can be an RTCP packet: version 2 and at least the header and sender SSRC. */
export function isRtcp(buf: Uint8Array, len: number): boolean {
  return len >= RTCP_HEADER && len <= buf.length && buf[0]! >> 6 === 2;
}

/** The big-endian 32-bit word at `offset`, unsigned. */
export function word(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) |
    buf[offset + 3]!) >>> 0;
}

/** Writes `value` as a big-endian 32-bit word at `offset`. */
export function putWord(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 24;
  buf[offset + 1] = value >>> 16;
  buf[offset + 2] = value >>> 8;
  buf[offset + 3] = value;
}
