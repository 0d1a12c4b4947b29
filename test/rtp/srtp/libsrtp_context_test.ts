// Needs --allow-ffi and the Debian package libsrtp2-1: without them every case fails with the
// loader's message ("Cannot load libsrtp2.so.1: ..."), never skips.
import { LibsrtpContext } from "../../../rtp/srtp/libsrtp_context.ts";
import { runContextCases } from "./_context_cases.ts";

runContextCases("LibsrtpContext", (master, options) => new LibsrtpContext(master, options));
