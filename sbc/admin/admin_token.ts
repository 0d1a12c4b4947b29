/**
 * The admin API's bearer token, read from `admin.token_file`: its first line, trimmed. Read at
 * start-up (and by `ctl -c FILE`); a token too short to resist guessing is refused.
 *
 * @module
 */

/** The shortest token accepted. */
export const MIN_TOKEN_LENGTH = 16;

/** Reads the token; throws naming the file when it cannot be read or is too short. */
export async function readAdminToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`Cannot read admin token file ${path}: ${(err as Error).message}`);
  }
  const token = text.split(/\r?\n/)[0]!.trim();
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `Cannot use admin token file ${path}: its first line must hold a token of at least ` +
        `${MIN_TOKEN_LENGTH} characters`,
    );
  }
  return token;
}
