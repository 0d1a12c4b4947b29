/** Markdown tables for the generated docs (configuration keys, KSR functions). */

/** Inline code. */
export function code(text: string): string {
  return `\`${text}\``;
}

/**
 * A Markdown table, padded as `deno fmt` pads tables so `deno fmt --check` accepts a generated
 * page unchanged.
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const cells = [header, ...rows].map((row) => row.map((cell) => cell.replaceAll("|", "\\|")));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(cells[0]!),
    `| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`,
    ...cells.slice(1).map(line),
  ];
}
