import { parseSpecText } from '../../../src/spec/document.js';
import { checkSchema } from '../../../src/spec/schema.js';
import { BASE_SPEC } from './repo-fixture.js';

const check = (value: unknown) =>
  checkSchema(parseSpecText('/r/repo-spec.json', JSON.stringify(value, null, 2))).map(
    (d) => `${d.line}:${d.col} ${d.pointer}: ${d.message}`,
  );

describe('checkSchema', () => {
  test('a valid spec has no errors', () => {
    expect(check(BASE_SPEC)).toEqual([]);
  });

  test('anyOf: a wrong type gives one message, not one per branch', () => {
    expect(check({ ...BASE_SPEC, packages: { base: true } })).toEqual([
      '7:13 /packages/base: must be a string or an array of strings',
    ]);
  });

  test('anyOf: when a branch matched the type, its deeper errors are reported', () => {
    expect(check({ ...BASE_SPEC, packages: { base: ['bash', 'a b'] } })).toEqual([
      '9:7 /packages/base/1: must be one package name, without blanks',
    ]);
  });

  test('unknown fields name the nearest known field, at the key', () => {
    expect(check({ ...BASE_SPEC, kernal: 'x' })).toEqual([
      '9:3 /kernal: unknown field "kernal" (did you mean "kernel"?)',
    ]);
  });

  test('unknown fields with no near name list the known ones', () => {
    expect(check({ ...BASE_SPEC, boot: { floppy: true } })).toEqual([
      '10:5 /boot/floppy: unknown field "floppy" (known fields: bios, uefi)',
    ]);
  });

  test('every error is reported, not just the first', () => {
    expect(
      check({
        name: 'x y',
        packagemanager: 'zypper',
        kernel: '',
        init: '/bin/init',
        packages: {},
        modules: 'some',
      }),
    ).toEqual([
      '2:11 /name: must be a safe name: letters, digits, ".", "_" and "-", starting with a letter or digit',
      '3:21 /packagemanager: must be one of "tdnf", "yum", "dnf", "apt", "oci"',
      '4:13 /kernel: must not be empty',
      '6:15 /packages/base: missing required field "base"',
      '7:14 /modules: must be one of "all", "drivers"',
    ]);
  });

  test('common_drivers is a boolean', () => {
    expect(check({ ...BASE_SPEC, common_drivers: 'no' })).toEqual([
      expect.stringMatching(/^\d+:\d+ \/common_drivers: must be (a )?boolean/),
    ]);
    expect(check({ ...BASE_SPEC, common_drivers: false })).toEqual([]);
  });

  test('nested definitions: app and minimise', () => {
    expect(
      check({
        ...BASE_SPEC,
        app: { run: ['/app/run'], files: [{ src: 'a', dest: 'relative', mode: '999' }] },
        minimise: { workloads: [] },
      }),
    ).toEqual([
      '16:17 /app/files/0/dest: must be an absolute path (starting with /)',
      '17:17 /app/files/0/mode: must be an octal file mode such as "0755"',
      '22:18 /minimise/workloads: must have at least 1 item',
    ]);
  });
});
