import { BuiltinSrtpContext } from "../../../rtp/srtp/builtin_context.ts";
import { runContextCases } from "./_context_cases.ts";

runContextCases("BuiltinSrtpContext", (master, options) => new BuiltinSrtpContext(master, options));
