// Writes the targets table of docs/cli.md from src/stage/targets.ts (run `npm run gen:docs`).
// test/unit/stage/targets.test.ts fails when the checked-in table is stale.
import { readFile, writeFile } from 'node:fs/promises';
import { formatTargetsMarkdown, TARGETS_DOC_BEGIN, TARGETS_DOC_END } from '../dist/stage/targets.js';

const path = new URL('./cli.md', import.meta.url);
const text = await readFile(path, 'utf8');
const begin = text.indexOf(TARGETS_DOC_BEGIN);
const end = text.indexOf(TARGETS_DOC_END);
if (begin < 0 || end < begin)
  throw new Error(`docs/cli.md: no ${TARGETS_DOC_BEGIN} ... ${TARGETS_DOC_END} markers`);
const table = `${TARGETS_DOC_BEGIN}\n${formatTargetsMarkdown()}\n${TARGETS_DOC_END}`;
await writeFile(path, text.slice(0, begin) + table + text.slice(end + TARGETS_DOC_END.length));
