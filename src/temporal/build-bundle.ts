import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { bundleOptions } from './workflow-bundle';

/**
 * Where `npm run build` leaves the workflow bundle, beside the compiled code (dist/), as
 * Temporal's production sample does: a worker started from dist loads it instead of running
 * webpack at every start, and a bundling error shows at build time, not at a deploy.
 */
export const PREBUILT_BUNDLE = path.join(__dirname, '../../workflow-bundle.js');
/** The same workflows with the tracing interceptors, for a worker with traces on (workflow-bundle.ts). */
export const PREBUILT_TRACED_BUNDLE = path.join(__dirname, '../../workflow-bundle-traced.js');

export async function writeWorkflowBundle(outPath = PREBUILT_BUNDLE, opts: { traced: boolean } = { traced: false }): Promise<void> {
  // Webpack's module list is noise at a build; its warnings and errors are not.
  const { code } = await bundleWorkflowCode({ ...bundleOptions(opts), logger: new DefaultLogger('WARN') });
  await fs.promises.writeFile(outPath, code);
}

if (require.main === module) {
  (async () => {
    await writeWorkflowBundle(PREBUILT_BUNDLE, { traced: false });
    await writeWorkflowBundle(PREBUILT_TRACED_BUNDLE, { traced: true });
  })().catch((err: unknown) => {
    console.error(`the workflow bundle could not be built: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
