import { downloadName } from '../../../src/pm/apt-fetch.js';

describe('downloadName', () => {
  test("is apt-get download's file name: the epoch kept, its colon escaped", () => {
    const record = 'Package: busybox-static\nVersion: 1:1.35.0-4+deb12u1+b1\nArchitecture: arm64\n';
    expect(downloadName('busybox-static', record)).toBe('busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb');
    expect(downloadName('shim-signed', 'Version: 1.44~1+deb12u1+15.8-1~deb12u1\nArchitecture: amd64\n')).toBe(
      'shim-signed_1.44~1+deb12u1+15.8-1~deb12u1_amd64.deb',
    );
  });

  test('a record without a version or an architecture gives none', () => {
    expect(downloadName('x', 'Package: x\n')).toBeUndefined();
  });
});
