import assert from "node:assert/strict";
import { metric } from "../../../sbc/admin/admin_server.ts";

Deno.test("metric() writes HELP, TYPE and the sample", () => {
  assert.equal(
    metric("edgesbc_rtp_sessions", "gauge", "Media sessions", 3),
    "# HELP edgesbc_rtp_sessions Media sessions\n# TYPE edgesbc_rtp_sessions gauge\n" +
      "edgesbc_rtp_sessions 3\n",
  );
});

Deno.test("metric() writes labels in order, escaping backslash, quote and line feed", () => {
  const text = metric("x_info", "gauge", "Info", 1, { a: "1.0", b: 'say "hi"\\\n' });
  assert.equal(text.split("\n")[2], 'x_info{a="1.0",b="say \\"hi\\"\\\\\\n"} 1');
});
