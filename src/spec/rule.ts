import type { Diagnostic } from '../errors.js';
import type { SpecDocument } from './document.js';
import type { FolderContents } from './folder.js';
import type { RepoSpec, ResolvedSpec } from './types.js';

/** What a semantic rule sees: the schema-valid document and its normalised form. */
export interface RuleInput {
  doc: SpecDocument;
  raw: RepoSpec;
  spec: ResolvedSpec;
  folder: FolderContents;
}

export interface Finding {
  severity: 'error' | 'warning';
  diagnostic: Diagnostic;
}

/** A named check the schema cannot express; its messages say how to fix the problem. */
export interface Rule {
  name: string;
  check(input: RuleInput): Promise<Finding[]> | Finding[];
}

/** A finding at a JSON pointer of the spec document, with its line and column. */
export function finding(
  input: RuleInput,
  rule: string,
  pointer: string,
  message: string,
  severity: Finding['severity'] = 'error',
  opts: { key?: boolean } = {},
): Finding {
  const { line, col } = input.doc.positionOf(pointer, opts);
  return { severity, diagnostic: { file: input.doc.shownAs, line, col, pointer, message, rule } };
}
