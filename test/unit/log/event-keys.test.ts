import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// Every key an event literal in src/ may carry must be one schemas/events.schema.json allows for
// its type: a key added in the code only breaks --json for whoever validates it, and only on the
// run that takes that branch (a clean CI run once met a `stage` event's sameOutputAs that way).
// Integration tests check the events they see; this reads the literals themselves, the keys
// behind conditional spreads included.
const root = fileURLToPath(new URL('../../../', import.meta.url));

interface EventSchema {
  properties: Record<string, unknown> & { type?: { const?: string } };
  additionalProperties?: boolean;
}

/** For each event type whose schema is closed (additionalProperties: false): its keys. */
function closedTypes(): Map<string, Set<string>> {
  const schema = JSON.parse(readFileSync(join(root, 'schemas/events.schema.json'), 'utf8')) as {
    oneOf: EventSchema[];
  };
  const keys = new Map<string, Set<string>>();
  const open = new Set<string>();
  for (const s of schema.oneOf) {
    const type = s.properties.type?.const;
    if (!type) continue;
    if (s.additionalProperties !== false) open.add(type);
    keys.set(type, new Set([...(keys.get(type) ?? []), ...Object.keys(s.properties)]));
  }
  for (const type of open) keys.delete(type);
  return keys;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.generated.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** The keys an object literal names, with those of object literals in its spreads (`...(c ? {k} : {})`). */
function literalKeys(node: ts.ObjectLiteralExpression): string[] {
  const keys: string[] = [];
  const fromSpread = (e: ts.Node): void => {
    if (ts.isObjectLiteralExpression(e)) keys.push(...literalKeys(e));
    else ts.forEachChild(e, fromSpread);
  };
  for (const p of node.properties) {
    if (ts.isSpreadAssignment(p)) fromSpread(p.expression);
    else if (p.name) keys.push(p.name.getText());
  }
  return keys;
}

function strayKeys(types: Map<string, Set<string>>): string[] {
  const stray: string[] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes("type: '")) continue;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isObjectLiteralExpression(node)) {
        const typeProp = node.properties.find(
          (p) =>
            ts.isPropertyAssignment(p) && p.name.getText() === 'type' && ts.isStringLiteral(p.initializer),
        ) as ts.PropertyAssignment | undefined;
        const allowed = typeProp && types.get((typeProp.initializer as ts.StringLiteral).text);
        if (allowed) {
          const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          for (const key of literalKeys(node))
            if (!allowed.has(key))
              stray.push(
                `${file.slice(root.length)}:${line}: ${(typeProp.initializer as ts.StringLiteral).text}.${key}`,
              );
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return stray;
}

test('every key of an event literal in src/ is one the event schema allows for its type', () => {
  const types = closedTypes();
  expect(types.get('stage')?.has('madeBy')).toBe(true);
  expect(strayKeys(types)).toEqual([]);
});

test('the check finds a key the schema lacks (the stage event without sameOutputAs)', () => {
  const types = closedTypes();
  types.get('stage')!.delete('sameOutputAs');
  expect(strayKeys(types)).toContainEqual(
    expect.stringMatching(/^src\/pipeline\/run-pipeline\.ts:\d+: stage\.sameOutputAs$/),
  );
});
