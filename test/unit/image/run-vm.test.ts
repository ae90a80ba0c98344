import { makeMarkerParser } from '../../../src/image/run-vm.js';
import { cleanConsoleLine, makeConsoleSplitter } from '../../../src/image/qemu.js';

function parse(lines: string[]) {
  const out: string[] = [];
  const p = makeMarkerParser((l) => out.push(l));
  lines.forEach((l) => p.feed(l));
  return { out, status: p.status, begun: p.begun };
}

describe('the tether console markers', () => {
  it('keeps only the lines between ISOBUILD-BEGIN and ISOBUILD-EXIT, with the status', () => {
    expect(
      parse(['[ 1.0] kernel', 'ISOBUILD-BEGIN', 'hello', '', 'world', 'ISOBUILD-EXIT 3', 'after']),
    ).toEqual({
      out: ['hello', '', 'world'],
      status: 3,
      begun: true,
    });
  });

  it('keeps output that did not end with a newline', () => {
    expect(parse(['ISOBUILD-BEGIN', 'no newlineISOBUILD-EXIT 0']).out).toEqual(['no newline']);
  });

  it('has no status before the exit marker', () => {
    expect(parse(['boot', 'ISOBUILD-BEGIN', 'still running'])).toEqual({
      out: ['still running'],
      status: undefined,
      begun: true,
    });
    expect(parse(['ISOBUILD-EXIT 0']).status).toBeUndefined(); // an exit before a begin is not ours
  });
});

describe('cleanConsoleLine', () => {
  it('drops CRs and terminal escapes from serial output', () => {
    expect(cleanConsoleLine('\x1b[2J\x1b[01;01Hhello\r')).toBe('hello');
    expect(cleanConsoleLine('ISOBUILD-EXIT 0\r\n')).toBe('ISOBUILD-EXIT 0');
  });
});

describe('makeConsoleSplitter', () => {
  it('makes lines from arbitrary chunks and shows the unfinished prompt as it grows', () => {
    const lines: string[] = [];
    const partials: string[] = [];
    const s = makeConsoleSplitter(
      (l) => lines.push(l),
      (p) => partials.push(p),
    );
    const bytes = Buffer.from('[ 1.0] boot\r\nDebian ttyS0\r\n\r\nlocalhost login: ');
    for (let i = 0; i < bytes.length; i += 7) s.feed(bytes.subarray(i, i + 7));
    expect(lines).toEqual(['[ 1.0] boot', 'Debian ttyS0', '']);
    expect(partials.at(-1)).toBe('localhost login: ');
    s.end();
    expect(lines.at(-1)).toBe('localhost login: ');
  });

  it('keeps a UTF-8 character split across chunks whole', () => {
    const lines: string[] = [];
    const s = makeConsoleSplitter(
      (l) => lines.push(l),
      () => {},
    );
    const bytes = Buffer.from('caf\u00e9\n');
    s.feed(bytes.subarray(0, 4));
    s.feed(bytes.subarray(4));
    expect(lines).toEqual(['caf\u00e9']);
  });
});
