// npm run build: dist/index.mjs (ESM) and dist/index.cjs (CommonJS) from one
// esbuild bundle each, the declarations from tsc (dist/*.d.ts, which also
// type-checks src/), dist/index.d.mts for `import`, then a check that a
// passage-flex-node style backend type-checks against the package, imported
// by its own name, both ways (check/).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const shared = { entryPoints: ['src/index.ts'], bundle: true, platform: 'node', target: 'node18', logLevel: 'warning' };
await build({ ...shared, format: 'esm', outfile: 'dist/index.mjs' });
await build({ ...shared, format: 'cjs', outfile: 'dist/index.cjs' });

const tsc = (...args) => execFileSync('node_modules/.bin/tsc', args, { stdio: 'inherit' });
tsc('-p', 'tsconfig.json');
writeFileSync('dist/index.d.mts', "export * from './index.js';\n");
tsc('-p', 'check/tsconfig.json');
