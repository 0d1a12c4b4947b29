// Needs --allow-ffi and libcrypto.so.3 (Debian libssl3): without them every case fails with the
// loader's message ("Cannot load libcrypto.so.3: ..."), never skips.
import { LibcryptoSrtpContext } from "../../../rtp/srtp/libcrypto_context.ts";
import { runContextCases } from "./_context_cases.ts";

runContextCases(
  "LibcryptoSrtpContext",
  (master, options) => new LibcryptoSrtpContext(master, options),
);
