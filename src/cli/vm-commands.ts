// The commands that boot an image: they load no repo spec, and `isobuild run` is timed by the
// bench, so their code is one chunk of the bundle apart from the build's (commands.ts).
export { registerBoot } from './boot.js';
export { registerQemu } from './qemu.js';
export { registerRun } from './run.js';
export { registerVerifyBoot } from './verify-boot.js';
