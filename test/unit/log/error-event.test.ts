import { BuildError, CommandError, LockError } from '../../../src/errors.js';
import { errorEvent } from '../../../src/log/events.js';

test('an error names its stage once, at the front of the message, and as data in the error event', () => {
  const err = new LockError('the root does not match the lock').atStage('staging').atStage('iso');
  expect(err.message).toBe('stage staging: the root does not match the lock');
  expect(errorEvent(err, 1)).toMatchObject({ kind: 'build', stage: 'staging', exitCode: 1 });

  const built = new BuildError('no kernel', 'initrd').atStage('initrd');
  expect(built.message).toBe('stage initrd: no kernel');
  expect(errorEvent(built, 1).stage).toBe('initrd');

  const command = new CommandError('command failed (exit status 3)', {
    stage: 'iso-base',
    command: 'mmdebstrap',
    outputTail: 'E: boom',
  }).atStage('iso-base');
  expect(command.message).toBe('stage iso-base: command failed (exit status 3)');
  expect(errorEvent(command, 1)).toMatchObject({
    stage: 'iso-base',
    command: 'mmdebstrap',
    outputTail: 'E: boom',
  });

  expect(errorEvent(new BuildError('outside any stage'), 1).stage).toBeUndefined();
});
