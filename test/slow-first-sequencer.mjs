// Jest's order on a clean clone (no timing cache yet) is by file size; CI always runs on one.
// The longest tests go first instead, so that the kernel build, which takes most of a run on two
// cores, overlaps the rest of the suite in the other worker rather than starting last.
import sequencer from '@jest/test-sequencer';

const Sequencer = sequencer.default;

const SLOW_FIRST = [
  'test/integration/kernel-source.test.ts',
  'test/integration/kernel-iso-preset.test.ts',
  'test/integration/arm64.test.ts',
  'test/integration/debian-12-cli.test.ts',
  'test/integration/bundle.test.ts',
  'test/integration/disk-image.test.ts',
  'test/integration/ova-appliance.test.ts',
  'test/integration/secure-boot.test.ts',
  'test/integration/uki.test.ts',
  'test/integration/kernel-kconfig.test.ts',
];

class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const rank = (t) => {
      const i = SLOW_FIRST.findIndex((p) => t.path.endsWith(p));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    const sorted = super.sort(tests);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

export default SlowFirstSequencer;
