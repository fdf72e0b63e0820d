// Jest loads its global setup outside the test runtime (no moduleNameMapper, no ESM transform);
// tsx loads the TypeScript setup the way the sources are written.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { default: setup } = await tsImport('./global-setup.ts', import.meta.url);
  await setup();
}
