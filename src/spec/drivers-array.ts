/**
 * Reads VIC's `drivers=( ... )` array out of an init.sh without running any of the file:
 * a small lexer for the literal words bash would see. Anything that would need the shell to
 * evaluate it (a `$`, a command substitution, a glob) is reported instead of guessed.
 */
export interface DriversArray {
  /** Whether the file assigns a drivers array at all. */
  found: boolean;
  drivers: string[];
  /** Where each driver's word starts, parallel to `drivers`. */
  positions: { line: number; col: number }[];
  errors: { line: number; col: number; message: string }[];
}

const ASSIGNMENT = /^[ \t]*(?:(?:declare|typeset)[ \t]+-a[ \t]+)?drivers(\+?)=\(/gm;
const NOT_LITERAL = new Set(['$', '`', '(', '<', '>', ';', '&', '|', '*', '?', '[']);

export function readDriversArray(text: string): DriversArray {
  const result: DriversArray = { found: false, drivers: [], positions: [], errors: [] };
  const position = (offset: number) => {
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    return { line, col: offset - before.lastIndexOf('\n') };
  };
  for (const m of text.matchAll(ASSIGNMENT)) {
    result.found = true;
    const words: string[] = [];
    const starts: number[] = [];
    let i = m.index + m[0].length;
    let word: string | undefined;
    let start = i;
    const endWord = () => {
      if (word !== undefined) {
        words.push(word);
        starts.push(start);
      }
      word = undefined;
    };
    const fail = (offset: number, what: string) => {
      result.errors.push({
        ...position(offset),
        message: `the drivers array must hold literal module names; ${what} would need the shell to evaluate it`,
      });
    };
    let closed = false;
    lex: while (i < text.length) {
      const c = text[i]!;
      if (word === undefined) start = i;
      if (c === ')') {
        endWord();
        closed = true;
        break;
      } else if (c === ' ' || c === '\t' || c === '\n') {
        endWord();
        i++;
      } else if (c === '\\') {
        // A backslash-newline joins lines (VIC writes `"nfsv3" \`); any other escapes one character.
        if (text[i + 1] === '\n') endWord();
        else word = (word ?? '') + (text[i + 1] ?? '');
        i += 2;
      } else if (c === '#' && word === undefined) {
        while (i < text.length && text[i] !== '\n') i++;
      } else if (c === "'") {
        const end = text.indexOf("'", i + 1);
        if (end === -1) break lex;
        word = (word ?? '') + text.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        let j = i + 1;
        let s = '';
        while (j < text.length && text[j] !== '"') {
          if (text[j] === '$' || text[j] === '`') {
            fail(j, `"${text[j]}"`);
            break lex;
          }
          if (text[j] === '\\' && '"\\$`\n'.includes(text[j + 1] ?? '')) {
            if (text[j + 1] !== '\n') s += text[j + 1];
            j += 2;
          } else s += text[j++];
        }
        if (j >= text.length) break lex;
        word = (word ?? '') + s;
        i = j + 1;
      } else if (NOT_LITERAL.has(c)) {
        fail(i, `"${c}"`);
        break lex;
      } else {
        word = (word ?? '') + c;
        i++;
      }
    }
    if (!closed && result.errors.length === 0) {
      result.errors.push({ ...position(m.index), message: 'the drivers array is not closed with ")"' });
    }
    const at = starts.map(position);
    if (m[1] === '+') {
      result.drivers.push(...words);
      result.positions.push(...at);
    } else {
      result.drivers = words;
      result.positions = at;
    }
  }
  return result;
}
