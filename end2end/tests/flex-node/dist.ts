import { existsSync } from 'node:fs';
import { join } from 'node:path';

// The package under test is sdk/flex-node as `make sdk` builds it. Specs import
// it by its name, `@latchkey/flex-node`, which end2end/tsconfig.json's `paths`
// maps to the package folder (its `main`, the CommonJS build), as if installed.
// Import this module first: without a build the run stops here, saying why.

export const packageDir = join(__dirname, '..', '..', '..', 'sdk', 'flex-node');
export const cjsEntry = join(packageDir, 'dist', 'index.cjs');
export const esmEntry = join(packageDir, 'dist', 'index.mjs');

for (const entry of [cjsEntry, esmEntry]) {
  if (!existsSync(entry)) {
    throw new Error(`${entry} is missing: build the Node SDK first with \`make sdk\` (\`make test-e2e\` does)`);
  }
}
