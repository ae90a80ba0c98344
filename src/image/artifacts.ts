/**
 * File names in a stage's artifacts folder, and in the 'kernel+initrd' output folder, which
 * holds the same three files so that `isobuild boot <folder>` reads either.
 */
export const ARTIFACTS = {
  kernel: 'vmlinuz',
  initrd: 'initrd.img',
  cmdline: 'cmdline',
  iso: 'image.iso',
  uki: 'uki.efi',
} as const;
