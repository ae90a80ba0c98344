import {
  lockedArgs,
  parseChecksumRepr,
  parseRepoquery,
  parseRpmQuery,
  rpmFileName,
} from '../../../src/pm/rpm-inventory.js';
import type { PackageLock } from '../../../src/lock/lock-file.js';

const SHA = 'd856ea123654d379ba002ead66c7e48eba451964bbf305180c4af2a136a00a18';
// What dnf 4's repoquery printed for bash in the offline test repository (%{chksum}).
const REPR = String.raw`(2, b'\xd8V\xea\x126T\xd3y\xba\x00.\xadf\xc7\xe4\x8e\xbaE\x19d\xbb\xf3\x05\x18\x0cJ\xf2\xa16\xa0\n\x18')`;

describe('the RPM inventory', () => {
  test('decodes the checksum dnf prints as a Python bytes repr', () => {
    expect(parseChecksumRepr(REPR)).toBe(SHA);
    expect(parseChecksumRepr(String.raw`(2, b"\xf0\xa2'\xd7")`)).toBeUndefined(); // not sha256
  });

  test('reads repoquery lines into name, epoch-version-release, arch', () => {
    const index = parseRepoquery(
      `bash\t0\t5.2.15\t2+b13\tx86_64\toffline\t${REPR}\nopenssl\t1\t1.0.2\t3\tx86_64\tbase\t${REPR}\n`,
    );
    expect(index.get('bash 5.2.15-2+b13 x86_64')).toEqual({ sha256: SHA, origin: 'offline' });
    expect(index.has('openssl 1:1.0.2-3 x86_64')).toBe(true);
  });

  test('rpm -qa drops the gpg-pubkey pseudo-packages and names the source package', () => {
    expect(
      parseRpmQuery(
        'bash\t5.2.15-2\tx86_64\tbash-5.2.15-2.src.rpm\ngpg-pubkey\tabc-def\t(none)\t(none)\nglibc-common\t1:2.36-9\tx86_64\tglibc-2.36-9.src.rpm\n',
      ),
    ).toEqual([
      { name: 'bash', version: '5.2.15-2', arch: 'x86_64', source: 'bash' },
      { name: 'glibc-common', version: '1:2.36-9', arch: 'x86_64', source: 'glibc' },
    ]);
    expect(rpmFileName({ name: 'glibc-common', version: '1:2.36-9', arch: 'x86_64' })).toBe(
      'glibc-common-2.36-9.x86_64.rpm',
    );
  });

  test('a locked install names exact versions; names the lock lacks pass unchanged', () => {
    const lock = {
      packages: [{ name: 'bash', version: '5.2.15-2', arch: 'x86_64', sha256: SHA }],
    } as unknown as PackageLock;
    expect(lockedArgs(['bash', 'toybox'], lock)).toEqual(['bash-5.2.15-2.x86_64', 'toybox']);
    expect(lockedArgs(['bash'], undefined)).toEqual(['bash']);
  });
});
