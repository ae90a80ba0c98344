import { parseStageLog } from '../../../src/report/stage-log.js';

describe('parseStageLog', () => {
  test('pairs each command with the runner line that ends it, overlapping ones by program', () => {
    const log = [
      '2026-12-07T05:58:00.000Z [info] iso-base: setting up',
      '2026-12-07T05:58:01.000Z [debug] $ mmdebstrap --variant=essential bookworm /root',
      "2026-12-07T05:58:02.500Z [debug] $ '/usr/bin/apt get' download linux-image",
      'Get:1 http://mirror linux-image 6.1',
      '2026-12-07T05:58:04.000Z [debug]   /usr/bin/apt get: 1.50 s, exit 0',
      '2026-12-07T05:58:11.000Z [debug]   mmdebstrap: 10.00 s, exit 0',
      '2026-12-07T05:58:12.000Z [debug] $ depmod -b /root 6.1',
      '2026-12-07T05:58:12.250Z [debug]   depmod: 0.25 s, exit 1',
    ].join('\n');
    expect(parseStageLog(log)).toEqual({
      seconds: 12.25,
      commands: [
        { command: "'/usr/bin/apt get' download linux-image", start: 2.5, seconds: 1.5, exit: '0' },
        { command: 'mmdebstrap --variant=essential bookworm /root', start: 1, seconds: 10, exit: '0' },
        { command: 'depmod -b /root 6.1', start: 12, seconds: 0.25, exit: '1' },
      ],
    });
  });

  test('a log without stamped lines (or an empty one) took no time and ran nothing', () => {
    expect(parseStageLog('')).toEqual({ seconds: 0, commands: [] });
    expect(parseStageLog('plain output\n')).toEqual({ seconds: 0, commands: [] });
  });

  test('a command still running when the log ends (a failed stage) is left out', () => {
    const log = '2026-12-07T05:58:00.000Z [debug] $ staging.sh\n2026-12-07T05:58:03.000Z [error] boom';
    expect(parseStageLog(log)).toEqual({ seconds: 3, commands: [] });
  });
});
