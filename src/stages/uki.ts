import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import type { DeclaredTool } from '../exec/host-tools.js';
import { formatBytes } from '../fs/disk-space.js';
import { ARTIFACTS } from '../image/artifacts.js';
import { clampTimes, moveFile } from '../image/files.js';
import { signerFacts, type DbSigner, dbSigner } from '../image/secure-boot-keys.js';
import { isPeFile, makeFinalUki, SYSTEMD_STUB } from '../image/uki.js';
import { readKernelConfig } from '../kernel/kernel-config.js';
import { resolveInRoot } from '../rootfs/root-path.js';
import { defineStage, type BuildPlan, type StageContext } from '../stage/types.js';
import { INITRD_ARTIFACTS } from './initrd.js';

export const UKI_ARTIFACT = ARTIFACTS.uki;

interface UkiInputs {
  readonly repo: string;
  readonly sourceDateEpoch: number;
  /** secure_boot {key, cert}: the paths; the key holds the pair's public digests (sources). */
  readonly signer?: DbSigner;
  /** The kernel is built from source: its modules, if it has any, are not signed by anyone. */
  readonly kernelFromSource: boolean;
}

/**
 * A kernel built from source and started through a db key must load no module it cannot
 * check: isobuild signs no modules, so such a kernel must have none (CONFIG_MODULES off, the
 * presets' way: drivers built in). A distribution's kernel checks its own signed modules.
 */
export async function checkNoUnsignedModules(
  ctx: StageContext,
  inputs: { readonly signer?: DbSigner; readonly kernelFromSource: boolean },
): Promise<void> {
  if (!inputs.signer || !inputs.kernelFromSource) return;
  const config = await readKernelConfig(ctx.bootfs, ctx.meta.kernelVersion);
  if (config?.enabled.has('CONFIG_MODULES'))
    throw new BuildError(
      `secure_boot {key, cert}: the kernel built from source has CONFIG_MODULES=y (${config.path}), and isobuild does not sign modules: build the drivers in (kernel.builtin "drivers", a config without =m and with "# CONFIG_MODULES is not set")`,
      ctx.stage,
    );
}

/** A UKI's kernel must be an EFI program: systemd-stub could not start one without a PE header. */
export async function checkUkiKernel(kernel: string, stage: string): Promise<void> {
  if (!(await isPeFile(kernel)))
    throw new BuildError(
      `${kernel} is no EFI program (no PE header): a UKI needs a kernel built with CONFIG_EFI_STUB=y (a kernel from source: add a fragment with CONFIG_EFI=y and CONFIG_EFI_STUB=y; the microvm preset has neither)`,
      stage,
    );
}

/** The uki target, or an ISO whose EFI path is the UKI (spec uki with boot.uefi). */
export function wantsUki(plan: Pick<BuildPlan, 'target' | 'spec' | 'outputs'>): boolean {
  if (plan.target === 'uki') return true;
  return plan.spec.uki && plan.spec.boot.uefi && plan.outputs.includes('iso');
}

/**
 * The root's os-release for the .osrel section (boot menus show its PRETTY_NAME); a small
 * initrd root may have left it out, so the repo's name stands in.
 */
export async function ukiOsRelease(ctx: StageContext, repo: string): Promise<string> {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    const host = await resolveInRoot(ctx.rootfs, path).catch(() => undefined);
    if (host && (await stat(host).catch(() => undefined))?.isFile()) return host;
  }
  const made = join(ctx.tmpDir, 'os-release');
  await writeFile(made, `ID=${repo}\nPRETTY_NAME="${repo} (isobuild)"\n`);
  return made;
}

async function runUki(ctx: StageContext, inputs: UkiInputs): Promise<void> {
  const sde = inputs.sourceDateEpoch;
  const parts = {
    kernel: join(ctx.artifacts, INITRD_ARTIFACTS.kernel),
    initrd: join(ctx.artifacts, INITRD_ARTIFACTS.initrd),
    cmdline: join(ctx.artifacts, INITRD_ARTIFACTS.cmdline),
    osRelease: await ukiOsRelease(ctx, inputs.repo),
  };
  for (const f of [parts.kernel, parts.initrd, parts.cmdline])
    if (!(await stat(f).catch(() => undefined)))
      throw new BuildError(`${f} is missing: the initrd stage writes it`, ctx.stage);
  await checkUkiKernel(parts.kernel, ctx.stage);
  await checkNoUnsignedModules(ctx, inputs);
  const uki = await makeFinalUki(ctx.run, parts, ctx.tmpDir, {
    ...(inputs.signer ? { signer: inputs.signer } : {}),
    sourceDateEpoch: sde,
    stage: ctx.stage,
  });
  const out = join(ctx.artifacts, UKI_ARTIFACT);
  await rm(out, { force: true }); // artifacts are hard links into the cache: replace, never write through
  await moveFile(uki, out);
  await clampTimes(out, sde);
  const cmdline = (await readFile(parts.cmdline, 'utf8')).trim();
  ctx.logger.info(
    `uki: ${formatBytes((await stat(out)).size)} (${inputs.signer ? `signed by ${inputs.signer.cert}` : 'unsigned'}; cmdline ${cmdline})`,
  );
}

/** The host tools a UKI needs: the stub, objcopy, and the signer with a db key. */
export function ukiCommands(inputs: { readonly signer?: DbSigner }): DeclaredTool[] {
  const needs: DeclaredTool[] = [
    { tool: SYSTEMD_STUB, reason: 'the UKI stub (systemd-stub)', version: 'none' },
    { tool: 'objdump', reason: "read the stub's sections (UKI)", version: ['--version'] },
    {
      tool: 'objcopy',
      reason: 'join kernel, initrd, cmdline and os-release onto the stub (UKI)',
      version: ['--version'],
    },
  ];
  if (inputs.signer)
    needs.push(
      { tool: 'osslsigncode', reason: 'sign the UKI with the db key (secure_boot)', version: ['--version'] },
      { tool: 'sbverify', reason: 'check the signature against the db certificate', version: 'none' },
      { tool: 'openssl', reason: "read the key's public part for the cache key", version: ['version'] },
    );
  return needs;
}

export const ukiStage = defineStage<UkiInputs>({
  name: 'uki',
  version: 1,
  mutatesRoot: false,
  applies: wantsUki,
  inputs: (plan) => {
    const signer = dbSigner(plan.spec.secureBoot);
    return {
      repo: plan.spec.name,
      kernelFromSource: plan.spec.kernel.kind === 'build',
      sourceDateEpoch: plan.options.sourceDateEpoch,
      ...(signer ? { signer } : {}),
    };
  },
  // The stub's bytes are the UKI's first part; the pair's public digests name the signature.
  sources: async (inputs) => ({
    files: [SYSTEMD_STUB],
    ...(inputs.signer ? { facts: { signer: await signerFacts(inputs.signer) } } : {}),
  }),
  commands: ukiCommands,
  describe: (inputs) => [
    `objdump -h ${SYSTEMD_STUB}; objcopy --add-section .osrel=<root os-release> .cmdline=artifacts/cmdline .linux=artifacts/vmlinuz .initrd=artifacts/initrd.img (each --change-section-vma to the next page) ${SYSTEMD_STUB} $TMP/unsigned.efi`,
    `set the PE TimeDateStamp to ${inputs.sourceDateEpoch}`,
    ...(inputs.signer
      ? [
          `osslsigncode sign -key ${inputs.signer.key} -certs ${inputs.signer.cert} -h sha256 -time ${inputs.sourceDateEpoch} -in $TMP/unsigned.efi -out $TMP/signed.efi`,
          `sbverify --cert ${inputs.signer.cert} $TMP/signed.efi`,
        ]
      : []),
    `move it to artifacts/${UKI_ARTIFACT}`,
  ],
  run: runUki,
});
