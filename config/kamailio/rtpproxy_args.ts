/**
 * rtpproxy's command line, read for `edgesbc import`: the options that have an edgesbc equivalent
 * (`-l`, `-A`, `-m`, `-M`, `-T`) become values; every other option is recorded so the importer can
 * say what it did not carry over. Pure: no I/O, never throws.
 */

/** rtpproxy's built-in values (rtpp_defines.h: PORT_MIN, PORT_MAX, SESSION_TIMEOUT). */
export const RTPPROXY_DEFAULTS = { portMin: 35000, portMax: 65000, ttl: 60 } as const;

/** An option read but not carried over, with why. */
export interface SkippedOption {
  readonly option: string;
  readonly value: string | undefined;
  readonly note: string;
  /** Whether `warnings` also mentions it (it is not harmless to lose). */
  readonly warned: boolean;
}

/** What an rtpproxy command line says, as written. */
export interface RtpproxyArgs {
  /** `-l A` or `-l A/B` (and `-6`): one address, or two (bridge mode): "i" first, "e" second. */
  readonly listen: readonly string[];
  /** `-A X` or `-A X/Y`: advertised addresses, by position in `listen`. */
  readonly advertise: readonly string[];
  /** `-m`: lowest RTP port; undefined when absent or not a number. */
  readonly portMin: number | undefined;
  /** `-M`: highest RTP port. */
  readonly portMax: number | undefined;
  /** `-T`: seconds of silence before a session is dropped. */
  readonly ttl: number | undefined;
  /** Options with no edgesbc equivalent, or harmless ones (`-u`, `-s`, `-d`, `-F`, …). */
  readonly skipped: readonly SkippedOption[];
  /** Problems an operator should read: unknown options, bad numbers, stray words. */
  readonly warnings: readonly string[];
}

// getopt string of rtpproxy 2.x/3.x ("vf2Rl:6:s:S:t:r:p:T:L:m:M:u:Fin:Pad:VN:c:A:w:bW:DC"):
// letters followed by ":" take a value. The notes say why each one needs nothing in edgesbc.
const VALUE_OPTIONS: Readonly<Record<string, string>> = {
  l: "",
  "6": "",
  A: "",
  m: "",
  M: "",
  T: "",
  s: "control socket: edgesbc drives its relay in-process",
  S: "recording spool directory: recording is not supported",
  r: "recording directory: recording is not supported",
  t: "IP ToS of RTP packets: not supported",
  p: "pid file: not needed",
  L: "open files limit: set it with the service manager",
  u: "run-as user: set it with the service manager",
  n: "timeout notification socket: not supported",
  d: "log level: edgesbc has its own logging",
  N: "scheduling option: not supported",
  c: "scheduling policy: not supported",
  w: "control socket mode: not needed",
  W: "setup TTL: see media.offer_timeout",
};
const FLAG_OPTIONS: Readonly<Record<string, string>> = {
  f: "foreground: not needed",
  F: "no root check: not needed",
  v: "version: not needed",
  V: "version: not needed",
  "2": "send low-bitrate packets twice: not supported",
  R: "no RTCP recording: recording is not supported",
  i: "independent RTP/RTCP timeouts: not supported",
  P: "record in pcap format: recording is not supported",
  a: 'asymmetric clients: set flags = "a" on the interface that needs it',
  b: "bridge symmetric: not needed",
  D: "no chdir: not needed",
  C: "no chroot: not needed",
};
// Options an operator would not regret losing: no warning, just a record.
const HARMLESS = new Set(["s", "p", "u", "d", "f", "F", "v", "V", "L", "w", "D", "C"]);

/**
 * Parse an rtpproxy command line as a shell would split it (quotes, backslashes, newlines).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRtpproxyArgs } from "./rtpproxy_args.ts";
 * const args = parseRtpproxyArgs("-l 10.0.1.100/10.0.2.100 -m 10000 -M 20000");
 * assert.deepEqual(args.listen, ["10.0.1.100", "10.0.2.100"]);
 * assert.equal(args.portMin, 10000);
 * ```
 */
export function parseRtpproxyArgs(text: string): RtpproxyArgs {
  const warnings: string[] = [];
  const skipped: SkippedOption[] = [];
  const split = splitShellWords(text);
  if (split.error !== undefined) warnings.push(`rtpproxy arguments: ${split.error}`);
  const words = [...split.words];
  // A pasted command line may start with the program itself.
  if (words.length > 0 && /(^|\/)rtpproxy$/.test(words[0]!)) words.shift();

  let listen4: string[] = [];
  let listen6: string[] = [];
  let advertise: string[] = [];
  let portMin: number | undefined;
  let portMax: number | undefined;
  let ttl: number | undefined;
  const number = (option: string, value: string): number | undefined => {
    if (/^[0-9]+$/.test(value)) return Number(value);
    warnings.push(`rtpproxy -${option} "${value}" is not a number: ignored`);
    return undefined;
  };

  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--") {
      warnings.push(`rtpproxy arguments after "--" ignored: ${words.slice(i + 1).join(" ")}`);
      break;
    }
    if (word.startsWith("--")) {
      warnings.push(`rtpproxy option "${word}" is not known to edgesbc import: ignored`);
      continue;
    }
    if (!word.startsWith("-") || word === "-") {
      // "-u user group" is a common slip for "-u user:group".
      const hint = words[i - 2] === "-u" ? ` (did you mean "-u ${words[i - 1]}:${word}"?)` : "";
      warnings.push(`rtpproxy argument "${word}" is not an option: ignored${hint}`);
      continue;
    }
    // getopt clusters: "-fF" is two flags; "-m10000" is -m with its value attached.
    for (let j = 1; j < word.length; j++) {
      const letter = word[j]!;
      if (letter in FLAG_OPTIONS) {
        const warned = !HARMLESS.has(letter);
        skipped.push({
          option: `-${letter}`,
          value: undefined,
          note: FLAG_OPTIONS[letter]!,
          warned,
        });
        if (warned) {
          warnings.push(`rtpproxy -${letter} not translated: ${FLAG_OPTIONS[letter]}`);
        }
        continue;
      }
      if (!(letter in VALUE_OPTIONS)) {
        warnings.push(`rtpproxy option "-${letter}" is not known to edgesbc import: ignored`);
        continue;
      }
      let value: string | undefined = word.slice(j + 1);
      if (value === "") value = words[++i];
      if (value === undefined) {
        warnings.push(`rtpproxy -${letter} needs a value: ignored`);
        break;
      }
      switch (letter) {
        case "l":
          listen4 = value.split("/");
          break;
        case "6":
          listen6 = value.split("/");
          break;
        case "A":
          advertise = value.split("/");
          break;
        case "m":
          portMin = number(letter, value);
          break;
        case "M":
          portMax = number(letter, value);
          break;
        case "T":
          ttl = number(letter, value);
          break;
        default:
          skipped.push({
            option: `-${letter}`,
            value,
            note: VALUE_OPTIONS[letter]!,
            warned: !HARMLESS.has(letter),
          });
          if (!HARMLESS.has(letter)) {
            warnings.push(`rtpproxy -${letter} ${value} not translated: ${VALUE_OPTIONS[letter]}`);
          }
      }
      break;
    }
  }
  // rtpproxy lets each bridge half be IPv4 (-l) or IPv6 (-6); position decides, not the option.
  const listen = [0, 1].map((i) => listen4[i] || listen6[i] || "").filter((a) => a !== "");
  return { listen, advertise, portMin, portMax, ttl, skipped, warnings };
}

/** Split text into words as a POSIX shell would, without expansions; reports an open quote. */
export function splitShellWords(text: string): { words: string[]; error: string | undefined } {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word = (word ?? "") + c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && '"\\$`'.includes(text[i + 1] ?? "")) word = (word ?? "") + text[++i];
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < text.length) {
      const next = text[++i]!;
      if (next !== "\n") word = (word ?? "") + next;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "#" && word === undefined) {
      // A comment runs to the end of the line, as in a shell script or an args file.
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return { words, error: quote === undefined ? undefined : `unterminated ${quote} quote` };
}
