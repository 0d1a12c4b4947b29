// Run without --allow-ffi by datagram_test.ts: prints the backend a relay would use.
import { openBackend } from "../../../rtp/packet/open_backend.ts";

const backend = openBackend(["127.0.1.1", "127.0.2.1"]);
console.log(backend.name);
backend.close();
