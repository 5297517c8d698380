import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { appsFile, e2eAppOptions, e2eApps, e2eDatabase, type E2EApp } from './tests/fixtures';

/**
 * Creates the suite's apps with Latchkey's own CLI, on the database of the
 * server Playwright just started (webServer runs before this), and writes
 * them to e2e-apps.json. It fails the run, loudly, if it cannot: no spec
 * skips for want of an app.
 */
export default function globalSetup() {
  const bin = process.env.LATCHKEY_BIN;
  if (!bin) {
    throw new Error('LATCHKEY_BIN is not set: run the suite with `make test-e2e`, which builds the server and sets it');
  }
  const apps: Record<string, E2EApp> = {};
  for (const [name, origins] of Object.entries(e2eApps)) {
    const options = e2eAppOptions[name as keyof typeof e2eApps] ?? [];
    const args = ['apps', 'create', '--name', name, ...origins.flatMap((o) => ['--origin', o]), ...options, '--json'];
    try {
      apps[name] = JSON.parse(execFileSync(bin, args, {
        cwd: __dirname, // where the webServer runs, so the same e2e.db
        env: { ...process.env, DATABASE_URL: e2eDatabase },
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString());
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`could not create the e2e app ${name} with ${bin} ${args.join(' ')}: ${error}\n${stderr}`);
    }
  }
  writeFileSync(appsFile, JSON.stringify(apps, null, 2));
}
