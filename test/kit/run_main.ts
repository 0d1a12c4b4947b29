/**
 * `main.ts` run from source as a child process, to its end: the exit code and both output streams
 * apart. For the command-line tests (unit and end-to-end) and for comparing with the packed file.
 *
 * @module
 */

/** The repository's root directory (ends in "/"): where `main.ts` runs from. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** How `main.ts` ended. */
export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunMainOptions {
  /** Deno's permission flags; default `["-A"]`. */
  readonly permissions?: readonly string[];
  /** Variables added to the environment the child inherits. */
  readonly env?: Record<string, string>;
  /** The child is killed after this long; default 20 s. */
  readonly timeoutMs?: number;
}

/** Runs `main.ts <args>` from the repository root, stdin closed, until it exits. */
export async function runMain(
  args: readonly string[],
  options: RunMainOptions = {},
): Promise<MainResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...(options.permissions ?? ["-A"]), "main.ts", ...args],
    cwd: REPO_ROOT,
    ...(options.env && { env: options.env }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}
