/**
 * The `KSR` object routing scripts see, built from the flat tables of rows in sbc/ksr_*.ts. The
 * one curated public surface of edgesbc: every name here is documented in docs/scripting.md,
 * generated from the same rows.
 */
import { CORE_MODULE, SBC_MODULE, X_MODULE } from "./ksr_core.ts";
import { HDR_MODULE, TEXTOPS_MODULE } from "./ksr_hdr.ts";
import { PV_MODULE } from "./ksr_pv.ts";
import { adaptRow, type KsrRow, type KsrValue } from "./ksr_row.ts";
import { MAXFWD_MODULE, PATH_MODULE, RR_MODULE } from "./ksr_rr.ts";
import { RTPPROXY_MODULE } from "./ksr_rtpproxy.ts";
import { SL_MODULE, TM_MODULE } from "./ksr_tm.ts";
import { DISPATCHER_MODULE } from "./ksr_dispatcher.ts";

/** Every KSR function, module by module, in the order the docs list them. */
export const KSR_ROWS: readonly KsrRow[] = [
  ...CORE_MODULE,
  ...X_MODULE,
  ...PV_MODULE,
  ...HDR_MODULE,
  ...TEXTOPS_MODULE,
  ...SL_MODULE,
  ...TM_MODULE,
  ...DISPATCHER_MODULE,
  ...RR_MODULE,
  ...PATH_MODULE,
  ...MAXFWD_MODULE,
  ...RTPPROXY_MODULE,
  ...SBC_MODULE,
];

export type KsrFunction = (...args: unknown[]) => KsrValue;
/** `KSR`: functions, and modules holding functions (`KSR.tm.t_relay`). */
export type Ksr = Readonly<Record<string, KsrFunction | Readonly<Record<string, KsrFunction>>>>;

/** Builds a frozen KSR object from rows; a duplicate name is a programming error. */
export function buildKsr(rows: readonly KsrRow[]): Ksr {
  const root: Record<string, KsrFunction | Record<string, KsrFunction>> = {};
  for (const row of rows) {
    let table: Record<string, unknown> = root;
    if (row.module !== "") {
      const existing = root[row.module];
      if (typeof existing === "function") {
        throw new Error(`Cannot build KSR: "${row.module}" is both a function and a module`);
      }
      table = existing ?? (root[row.module] = {});
    }
    if (row.name in table) {
      throw new Error(`Cannot build KSR: "${row.module}.${row.name}" is defined twice`);
    }
    table[row.name] = adaptRow(row);
  }
  for (const value of Object.values(root)) Object.freeze(value);
  return Object.freeze(root);
}

/** The KSR object every script shares (it holds no state of its own). */
export const KSR: Ksr = buildKsr(KSR_ROWS);
