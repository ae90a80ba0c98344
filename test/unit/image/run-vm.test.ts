import { makeMarkerParser } from '../../../src/image/run-vm.js';
import { cleanConsoleLine } from '../../../src/image/qemu.js';

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
