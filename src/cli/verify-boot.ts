import type { Command } from 'commander';
import { checkTools } from '../exec/host-tools.js';
import { verifyBoot } from '../image/verify-boot.js';
import { writeEvent } from '../log/events.js';
import type { GlobalOptions } from './context.js';

export function registerVerifyBoot(program: Command): void {
  program
    .command('verify-boot')
    .description("list an output's EFI binaries, who signed them, and whether they pass a db certificate")
    .argument(
      '<output>',
      'an ISO, a disk image (raw, qcow2, vmdk, vhdx, vpc), an ESP (FAT) image or an EFI binary such as a UKI',
    )
    .option('--cert <pem>', 'a db certificate: say whether each binary passes it')
    .action(async (output: string, flags: { cert?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      await checkTools([
        { tool: 'sbverify', reason: 'read the signatures' },
        { tool: 'xorriso', reason: "extract an ISO's EFI image" },
        { tool: 'mcopy', reason: "read the EFI image's files" },
        { tool: 'sfdisk', reason: "find a disk image's EFI system partition" },
        { tool: 'qemu-img', reason: 'read a qcow2/vmdk/vhdx/vpc disk image (converted to raw)' },
      ]);
      const reports = await verifyBoot(output, flags.cert);
      if (globals.json) writeEvent({ type: 'verify-boot', output, binaries: reports });
      else
        for (const r of reports) {
          const verdict = r.passes === undefined ? '' : r.passes ? '  passes' : '  FAILS';
          console.log(`${r.path}: ${r.signers.length ? r.signers.join('; ') : 'unsigned'}${verdict}`);
        }
      if (reports.some((r) => r.passes === false)) process.exitCode = 1;
    });
}
