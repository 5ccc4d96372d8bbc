// Where the package's own files are (the addon, scripts/, the repro agent),
// from whichever file asks: compiled (dist/lib/…), run from TypeScript by the
// test runner (lib/…), or bundled into one file (dist/cli/pipewright.js, see
// scripts/bundle-cli.js). Depth-relative paths from __dirname break in the
// bundle, so everything is found from the package root instead.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/** The directory holding pipewright's package.json (found once, walking up from this file). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'pipewright') return (root = dir);
    } catch {
      // no package.json here, or not ours
    }
    if (dirname(dir) === dir) throw new Error(`cannot find pipewright's package.json above ${__dirname}`);
  }
}
