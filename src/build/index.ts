/**
 * isobuild as a library: what `import ... from 'isobuild'` gives (package.json `exports`,
 * docs/api.md). The CLI's commands are thin shells over these calls.
 */
// The package-manager adapters fill the spec layer's table when loaded (src/spec/package-managers.ts):
// a script that only loads a spec through the library must get them too.
import '../pm/index.js';

export { build } from './build.js';
export {
  testBuild,
  testRepo,
  testsByTarget,
  type TestReport,
  type TestRequest,
  type TestVmFlags,
} from './test-repo.js';
export type { BootTestResult, BootTestRun } from '../image/boot-tests.js';
export { buildStages, type StageRoot, type StagesRequest } from './stages.js';
export { exportStageImage, type ExportedImage, type ExportImageRequest } from './export-image.js';
export { lockRepo, type LockedRepo } from './lock-repo.js';
export { makeBundle, type BundleRequest, type MadeBundle } from './make-bundle.js';
export { buildFromBundle, type FromBundleRequest, type FromBundleResult } from './from-bundle.js';
export { writeReport, type ReportRequest } from './report.js';
export type { BudgetRow, ReportData } from '../report/types.js';
export type { BuildRequest, BuildResult, BuiltOutput, RepoRequest, ReportTo } from './request.js';
export type { LogEvent, Logger } from '../log/logger.js';
export { TARGETS, type OutputFormat, type StageOutcome, type Target } from '../stage/types.js';
export {
  BudgetError,
  BuildError,
  BundleError,
  CommandError,
  FileSystemError,
  InterruptedError,
  IsobuildError,
  LockError,
  SpecError,
  ToolMissingError,
  UsageError,
} from '../errors.js';
