import type { Diagnostic } from '../errors.js';

/**
 * Bounds on what a spec file may be, checked before and after parsing so a hostile or broken
 * file gets a diagnostic (exit 2), never a stack overflow or gigabytes of memory. Real specs
 * are a few KiB, nest five deep and hold short strings: the limits are far from them.
 */
export const SPEC_LIMITS = {
  /** Bytes of a repo-spec file. */
  fileBytes: 1024 * 1024,
  /** Nesting of maps and lists. */
  depth: 32,
  /** Characters of any one string. */
  stringChars: 4096,
  /** Aliases a YAML document may expand (billion laughs). */
  aliases: 100,
  /** The kernel command line on x86 (COMMAND_LINE_SIZE). */
  cmdlineBytes: 2048,
} as const;

/**
 * The deepest nesting in a JSON or YAML text, found without parsing it (the YAML parser
 * recurses, so a 10⁴-deep file overflows its stack): flow brackets outside quotes and comments,
 * block indentation levels, and compact `- - -` sequences. Stops counting once past `limit`;
 * returns the depth and the offset where it was passed.
 */
export function scanDepth(
  text: string,
  limit: number = SPEC_LIMITS.depth,
): { depth: number; offset: number } {
  let flow = 0;
  let max = 0;
  const indents: number[] = [];
  let i = 0;
  const over = (d: number, at: number) => (d > max ? ((max = d), d > limit ? at : -1) : -1);
  while (i < text.length) {
    // At a line start (outside flow collections): block indentation and leading "- " markers.
    let lineDepth = indents.length;
    if (flow === 0) {
      let col = 0;
      while (text[i + col] === ' ') col++;
      const rest = text[i + col];
      if (rest !== '\n' && rest !== '#' && rest !== undefined && rest !== '\r') {
        while (indents.length && indents.at(-1)! > col) indents.pop();
        if (!indents.length || indents.at(-1)! < col) indents.push(col);
        lineDepth = indents.length;
        let j = i + col;
        while (text[j] === '-' && text[j + 1] === ' ') {
          lineDepth++;
          j += 2;
          while (text[j] === ' ') j++;
        }
        const at = over(lineDepth, i + col);
        if (at >= 0) return { depth: max, offset: at };
      }
    }
    // The rest of the line (or of a flow collection spanning lines).
    for (; i < text.length && text[i] !== '\n'; i++) {
      const c = text[i];
      if (c === '"' || c === "'") {
        const quote = c;
        for (i++; i < text.length; i++) {
          if (quote === '"' && text[i] === '\\') i++;
          else if (text[i] === quote) {
            if (quote === "'" && text[i + 1] === "'") i++;
            else break;
          }
        }
      } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
        while (i < text.length && text[i] !== '\n') i++;
        break;
      } else if (c === '[' || c === '{') {
        flow++;
        const at = over(lineDepth + flow, i);
        if (at >= 0) return { depth: max, offset: at };
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    i++;
  }
  return { depth: max, offset: -1 };
}

/** Strings longer than the limit, by JSON pointer (walked without recursion). */
export function findLongStrings(value: unknown, limit: number = SPEC_LIMITS.stringChars): string[] {
  const out: string[] = [];
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, pointer] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.length > limit) out.push(pointer);
    } else if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, `${pointer}/${i}`]));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k.length > limit) out.push(pointer);
        stack.push([x, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`]);
      }
  }
  return out.sort();
}

export function limitDiagnostic(
  file: string,
  pos: { line: number; col: number },
  pointer: string,
  message: string,
): Diagnostic {
  return { file, ...pos, pointer, message, rule: 'limits' };
}
