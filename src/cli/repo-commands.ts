// The commands that read repos, the cache or the build's outputs: one chunk of the bundle, so a
// build loads a few files, not one per command (commands.ts).
export { registerBuild } from './build.js';
export { registerBundle } from './bundle.js';
export { registerCache } from './cache.js';
export { registerCi } from './ci.js';
export { registerClean } from './clean.js';
export { registerCompletion } from './completion.js';
export { registerDiff } from './diff.js';
export { registerDoctor } from './doctor.js';
export { registerExport } from './export.js';
export { registerList } from './list.js';
export { registerLock } from './lock.js';
export { registerNew } from './new.js';
export { registerPlan } from './plan.js';
export { registerReport } from './report.js';
export { registerShell } from './shell.js';
export { registerSummary } from './summary.js';
export { registerTest } from './test.js';
export { registerValidate } from './validate.js';
export { registerVerify } from './verify.js';
export { registerWhy } from './why.js';
