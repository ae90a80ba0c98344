/** osbuilder's IMG_SIZE notation: bytes, or a whole number of KiB, MiB or GiB (256M, or 256MiB as budgets write it). */
const UNITS = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as const;

/** Parses 256M / 1G / 1048576 into bytes; undefined when the text is not such a size. */
export function parseSize(text: string): number | undefined {
  const m = /^([1-9][0-9]*)(?:([KMG])(?:iB)?)?$/i.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNITS[(m[2] ?? '').toUpperCase() as keyof typeof UNITS];
}
