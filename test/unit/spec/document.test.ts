import { joinPointer, parsePointer, parseSpecText, showPath } from '../../../src/spec/document.js';

describe('parseSpecText', () => {
  test('maps pointers to the value, or to the key, in YAML', () => {
    const doc = parseSpecText('/r/repo-spec.yaml', 'name: x\npackages:\n  base:\n    - bash\n    - kmod\n');
    expect(doc.errors).toEqual([]);
    expect(doc.value).toEqual({ name: 'x', packages: { base: ['bash', 'kmod'] } });
    expect(doc.positionOf('/name')).toEqual({ line: 1, col: 7 });
    expect(doc.positionOf('/packages/base/1')).toEqual({ line: 5, col: 7 });
    expect(doc.positionOf('/packages/base', { key: true })).toEqual({ line: 3, col: 3 });
  });

  test('parses JSON with the same positions', () => {
    const doc = parseSpecText(
      '/r/repo-spec.json',
      '{\n  "name": "x",\n  "packages": { "base": "bash" }\n}\n',
    );
    expect(doc.value).toEqual({ name: 'x', packages: { base: 'bash' } });
    expect(doc.positionOf('/packages/base')).toEqual({ line: 3, col: 25 });
    expect(doc.positionOf('/packages', { key: true })).toEqual({ line: 3, col: 3 });
  });

  test('a missing path falls back to its deepest existing parent', () => {
    const doc = parseSpecText('/r/repo-spec.yaml', 'name: x\npackages:\n  bootstrap: bash\n');
    expect(doc.positionOf('/packages/base')).toEqual({ line: 3, col: 3 });
    expect(doc.positionOf('/nothing/here')).toEqual({ line: 1, col: 1 });
  });

  test('syntax errors carry the parser position and a one-line message', () => {
    const doc = parseSpecText('/r/repo-spec.json', '{\n  "a": 1\n  "b": 2\n}\n');
    expect(doc.value).toBeUndefined();
    expect(doc.errors).toHaveLength(1);
    expect(doc.errors[0]).toMatchObject({ line: 3, col: 3, pointer: '', rule: 'parse' });
    expect(doc.errors[0]!.message).toBe("Expected ',' or '}' after property value");
  });

  test('YAML syntax errors: only the first, in one line, at the parser position', () => {
    const doc = parseSpecText('/r/repo-spec.yaml', 'name: x\npackages:\n  base: [bash\nkernel: k\n');
    expect(doc.errors).toEqual([
      {
        file: '/r/repo-spec.yaml',
        line: 4,
        col: 1,
        pointer: '',
        message: 'Flow sequence in block collection must be sufficiently indented and end with a ]',
        rule: 'parse',
      },
    ]);
  });

  test('an empty or comment-only file is empty', () => {
    expect(parseSpecText('/r/a.yaml', '').empty).toBe(true);
    expect(parseSpecText('/r/a.yaml', '# just a comment\n').empty).toBe(true);
    expect(parseSpecText('/r/a.yaml', '{}').empty).toBe(false);
  });
});

describe('pointers and paths', () => {
  test('escape and unescape ~ and /', () => {
    expect(joinPointer('app', 'env', 'A/B~C', 0)).toBe('/app/env/A~1B~0C/0');
    expect(parsePointer('/app/env/A~1B~0C/0')).toEqual(['app', 'env', 'A/B~C', '0']);
    expect(parsePointer('')).toEqual([]);
  });

  test('showPath is relative inside the cwd and absolute outside it', () => {
    expect(showPath('/work/x/repos/a/repo-spec.json', '/work/x')).toBe('repos/a/repo-spec.json');
    expect(showPath('/tmp/a/repo-spec.json', '/work/x')).toBe('/tmp/a/repo-spec.json');
  });
});
