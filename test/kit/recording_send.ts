import type { SendTarget } from "../../sbc/transport/transport.ts";

/** A transport `send` that keeps the text of everything sent and reports `result`. */
export function recordingSend(result = true): {
  sent: string[];
  send: (target: SendTarget, bytes: Uint8Array) => Promise<boolean>;
} {
  const sent: string[] = [];
  const send = (_target: SendTarget, bytes: Uint8Array) => {
    sent.push(new TextDecoder().decode(bytes));
    return Promise.resolve(result);
  };
  return { sent, send };
}
