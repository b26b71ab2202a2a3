import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const dist = `${root}dist/`;

describe('package', () => {
  beforeAll(() => {
    if (!existsSync(`${dist}index.js`)) throw new Error('dist/ is missing: `npm test` builds it first (tsup)');
  });

  it('has no runtime dependencies', () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.peerDependencies ?? {}).toEqual({});
    expect(pkg.sideEffects).toBe(false);
  });

  it('ships ESM, CJS and type declarations with the same exports', async () => {
    const esm = await import(`${dist}index.js`);
    const cjs = createRequire(import.meta.url)(`${dist}index.cjs`);
    expect(typeof esm.tensor).toBe('function');
    expect(Object.keys(cjs).sort()).toEqual(Object.keys(esm).sort());
    expect(existsSync(`${dist}index.d.ts`) && existsSync(`${dist}index.d.cts`)).toBe(true);
  });

  it('keeps Node built-ins out of the static import graph of the library bundle', () => {
    const src = readFileSync(`${dist}index.js`, 'utf8');
    expect(src).not.toMatch(/^import .* from ["']node:/m);
    expect(src).not.toMatch(/require\(["'](node:)?(fs|path|child_process|zlib)["']\)/);
  });

  it('the CLI answers --help and --version and rejects unknown commands with exit code 2', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [`${dist}cli.js`, ...args], { encoding: 'utf8' });
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: visionops <command>');
    expect(run('--version').stdout.trim()).toBe(pkg.version);
    const bad = run('no-such-command');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown command 'no-such-command'");
  });
});
