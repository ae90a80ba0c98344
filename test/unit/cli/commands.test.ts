import { Command } from 'commander';
import { COMMAND_NAMES, COMMANDS, commandModule } from '../../../src/cli/commands.js';

// The CLI registers only the command line's own command (src/cli/commands.ts): the table's names
// and flags must say what each module really registers, or routing and "did you mean" go wrong.
describe('the command table says what each module registers', () => {
  test.each(COMMANDS.map((m) => [m.names.join(', '), m] as const))('%s', async (_, module) => {
    const program = new Command('isobuild');
    (await module.load())(program);
    expect(program.commands.map((c) => c.name())).toEqual(module.names);
    expect(program.commands.some((c) => c.commands.length > 0)).toBe(module.group === true);
    expect(program.commands.flatMap((c) => c.aliases())).toEqual([]);
  });

  test('every name is found once, and help is a name', () => {
    expect(new Set(COMMAND_NAMES).size).toBe(COMMAND_NAMES.length);
    expect(COMMAND_NAMES).toContain('help');
    for (const name of COMMAND_NAMES.filter((n) => n !== 'help'))
      expect(commandModule(name)?.names).toContain(name);
    expect(commandModule('valdate')).toBeUndefined();
  });
});
