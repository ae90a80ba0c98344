/**
 * Quoting for POSIX sh (and GRUB, which parses `linux` arguments the same way). Used for
 * command lines we show (`isobuild plan`, failed commands in logs) and for scripts we write
 * (the app's /app/run, the tether's command, mmdebstrap's hook words). Never for running
 * anything: the runner takes argument arrays.
 */

/** Characters no shell (nor GRUB) treats specially. */
const PLAIN = /^[\w@%+=:,./-]+$/;
/** The same, plus `$`: for plan lines whose $TMP and ${SOURCE_DATE_EPOCH} the reader's shell expands. */
const PLAIN_OR_VARIABLE = /^[\w@%+=:,./${}-]+$/;

/** The text of `s` for the inside of single quotes: each ' becomes '\''. */
export function escapeInSingleQuotes(s: string): string {
  return s.replace(/'/g, `'\\''`);
}

/** `s` single-quoted, always: nothing inside is special to sh except the quote itself. */
export function quoteAlways(s: string): string {
  return `'${escapeInSingleQuotes(s)}'`;
}

/**
 * One shell word: `s` as it is when it has nothing special, else single-quoted. With
 * `keepVariables` a word made of plain characters and `$` placeholders stays unquoted.
 */
export function quoteWord(s: string, opts: { keepVariables?: boolean } = {}): string {
  return (opts.keepVariables ? PLAIN_OR_VARIABLE : PLAIN).test(s) ? s : quoteAlways(s);
}

/** A command line a user can paste. */
export function quoteCommand(argv: readonly string[], opts: { keepVariables?: boolean } = {}): string {
  return argv.map((a) => quoteWord(a, opts)).join(' ');
}
