// End-to-end calls over UDP that loses packets on both sides of the SBC.
import {
  ADDRESS,
  assertAllCallsSucceeded,
  runSipp,
  startSippServer,
  usingPorts,
  withSbc,
} from "./_harness.ts";

Deno.test("every call completes through retransmissions when 10% of packets are lost", async () => {
  const ports = usingPorts(10);
  const calls = 30;
  // sipp drops 10% of what it sends and of what it receives, at the phone and at the PBX.
  // Loss legitimately reorders a dialog (a re-sent ACK can arrive after the BYE), which sipp
  // would count as an unexpected message, so here only a call that does not finish fails.
  const lossy = ["-lost", "10", "-default_behaviors", "all,-abortunexp"];
  await withSbc({ ports }, async () => {
    await using pbx = await startSippServer({
      scenario: "uas-answer-honours-route-set.xml",
      role: "pbx",
      ports,
      calls,
      args: lossy,
      recvTimeoutMs: 30_000,
      timeoutMs: 75_000,
    });
    const phone = await runSipp({
      scenario: "uac-call-honours-route-set.xml",
      role: "phone",
      ports,
      remote: `${ADDRESS.external}:${ports.sbc}`,
      calls,
      rate: 10,
      args: lossy,
      // Timer B is 32 s; a call that needs longer than this is a failure anyway
      recvTimeoutMs: 30_000,
      timeoutMs: 60_000,
    });
    const callee = await pbx.wait(15_000);
    assertAllCallsSucceeded(calls, { phone, PBX: callee });
  });
});
