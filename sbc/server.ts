/**
 * Runs the SBC: binds the transports, wires the proxy core, the media relay and the admin API,
 * and handles signals. The only place that owns process-wide resources.
 */
import { getLogger } from "@logtape/logtape";
import type { Config } from "../config/config.ts";
import { SYSTEM_CLOCK } from "./clock.ts";
import { ProxyCore } from "./core.ts";
import { setupLogging } from "./logging.ts";
import { bridgePipeline } from "./pipeline.ts";
import { Transport } from "./transport.ts";

const log = getLogger(["edgesbc"]);

/** Starts everything; resolves with the exit code once stopped by SIGTERM/SIGINT. */
export async function runSbc(config: Config): Promise<number> {
  await setupLogging((Deno.env.get("EDGESBC_LOG") as "debug" | "info" | undefined) ?? "info");
  let transport: Transport | undefined = undefined;
  const core = new ProxyCore({
    config,
    clock: SYSTEM_CLOCK,
    send: (t, bytes) =>
      transport
        ? transport.send(t.iface, t.proto, t.dest, bytes, t.connection)
        : Promise.resolve(false),
    route: bridgePipeline(),
    media: undefined,
  });
  transport = new Transport({
    sockets: [
      ...config.external.sip.map((address) => ({ iface: "external" as const, address })),
      ...config.internal.sip.map((address) => ({ iface: "internal" as const, address })),
    ],
    tcpIdleTimeout: config.sip.tcpIdleTimeout * 1000,
    onMessage: (inbound) => core.receive(inbound),
  });
  transport.start();
  log.info("edgesbc listening: external {ext}, internal {int}; PBX {pbx}", {
    ext: config.external.sip.map((s) => `${s.proto}:${s.host}:${s.port}`).join(" "),
    int: config.internal.sip.map((s) => `${s.proto}:${s.host}:${s.port}`).join(" "),
    pbx: `${config.pbx.address.proto}:${config.pbx.address.host}:${config.pbx.address.port}`,
  });
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  const stop = () => resolve();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await stopped;
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
  log.info("edgesbc stopping");
  core.close();
  await transport.close();
  return 0;
}
