/**
 * A real `MediaRelay` for unit tests of the proxy core: the config's media addresses, a port range
 * the test owns, and the test's manual clock, closed by `using`.
 *
 * @module
 */
import type { Config } from "../../config/config.ts";
import { MediaRelay } from "../../rtp/relay.ts";
import type { ManualClock } from "./manual_clock.ts";

/** SDP with one audio stream at `address:port`, `o=` naming `origin`. */
export function audioSdp(address: string, port: number, origin = address): string {
  return [
    "v=0",
    `o=- 1 1 IN IP4 ${origin}`,
    "s=-",
    `c=IN IP4 ${address}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 0`,
    "",
  ].join("\r\n");
}

/** A relay on `config`'s media addresses with `ports`, driven by `clock`. */
export function testRelay(
  config: Config,
  clock: ManualClock,
  ports: readonly [number, number],
): MediaRelay & Disposable {
  const relay = new MediaRelay({
    sides: {
      external: { media: config.external.media, advertise: undefined },
      internal: { media: config.internal.media, advertise: undefined },
    },
    ports,
    timeout: 60,
    holdTimeout: 600,
    offerTimeout: 180,
    clock,
  });
  return Object.assign(relay, { [Symbol.dispose]: () => relay.close() });
}
