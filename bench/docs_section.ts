/**
 * docs/benchmarks.md is shared by several benches: each owns the text between its
 * `<!-- NAME:begin -->` and `<!-- NAME:end -->` markers and rewrites only that.
 */

export const BENCHMARKS_MD = new URL("../docs/benchmarks.md", import.meta.url).pathname;

const SKELETON = `# Benchmarks

Measured with real peers on loopback by \`deno task bench\` (bench/run.ts); each section is
rewritten by its own bench script.

<!-- sip:begin -->
## SIP signalling

Not measured yet.
<!-- sip:end -->

<!-- rtp:begin -->
## RTP relay

Not measured yet.
<!-- rtp:end -->
`;

/** Replaces section `name` (markers kept); appends it when the file lacks the markers. */
export async function writeSection(name: string, body: string, path = BENCHMARKS_MD) {
  const text = await Deno.readTextFile(path).catch(() => SKELETON);
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  // blank lines around the markers keep deno fmt from touching them
  const section = `${begin}\n\n${body.trim()}\n\n${end}`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  const next = from >= 0 && to > from
    ? text.slice(0, from) + section + text.slice(to + end.length)
    : `${text.trimEnd()}\n\n${section}\n`;
  await Deno.writeTextFile(path, next);
}
