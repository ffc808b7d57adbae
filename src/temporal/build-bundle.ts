import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { preloadModules, workflowsPath } from './workflow-bundle';

/**
 * Where `npm run build` leaves the workflow bundle, beside the compiled code (dist/), as
 * Temporal's production sample does: a worker started from dist loads it instead of running
 * webpack at every start, and a bundling error shows at build time, not at a deploy.
 */
export const PREBUILT_BUNDLE = path.join(__dirname, '../../workflow-bundle.js');

export async function writeWorkflowBundle(outPath = PREBUILT_BUNDLE): Promise<void> {
  // Webpack's module list is noise at a build; its warnings and errors are not.
  const { code } = await bundleWorkflowCode({ workflowsPath, preloadModules, logger: new DefaultLogger('WARN') });
  await fs.promises.writeFile(outPath, code);
}

if (require.main === module) {
  writeWorkflowBundle().catch((err: unknown) => {
    console.error(`the workflow bundle could not be built: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
