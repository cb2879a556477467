/** Rows of cells as aligned lines, columns padded to their widest cell. */
export function formatTable(rows: string[][]): string[] {
  const widths = rows.reduce((max, row) => row.map((cell, i) => Math.max(max[i] ?? 0, cell.length)), [] as number[]);
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}
