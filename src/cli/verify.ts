import type { Command } from 'commander';
import { resolve } from 'node:path';
import { verifyProvenance } from '../inventory/verify-provenance.js';
import { writeEvent } from '../log/events.js';
import type { GlobalOptions } from './context.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      'check an output against its provenance (.intoto.json): the subject digests and, with --key, the signature',
    )
    .argument('<output>', 'an output isobuild wrote (ISO, kernel+initrd folder...)')
    .option(
      '--key <pub>',
      'the PEM public key (or the private key) whose signature the provenance must carry',
    )
    .action(async (output: string, flags: { key?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      // A failure throws VerifyError: exit 1, naming the digest or the signature.
      const check = await verifyProvenance(resolve(output), flags.key && resolve(flags.key));
      if (globals.json) {
        writeEvent({ type: 'verify', ...check });
        return;
      }
      const signature = {
        valid: `signature: valid (key ${check.keyid?.slice(0, 16)})`,
        'not-checked': 'signature: signed, not checked (give --key PUB to check it)',
        unsigned: 'signature: none (unsigned provenance)',
        invalid: '',
      }[check.signature];
      process.stdout.write(
        [
          ...check.subjects.map((s) => `digest: ${s.name}: sha256 ${s.expected} matches`),
          signature,
          `${output}: verified against ${check.provenance}`,
        ].join('\n') + '\n',
      );
    });
}
