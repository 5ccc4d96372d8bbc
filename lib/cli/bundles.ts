// Which bundle of the CLI runs which command. scripts/bundle-cli.js makes
// the bundles and, from this table and the registry, dist/cli/commands.json,
// by which launch.ts picks one at run time (it does not load this file).
// A start reads and compiles its whole bundle, even from V8's code cache:
// ~1 ms per 100 KB, measured. The commands run once per guest or per
// container get bundles that hold only what they load (~300 KB, where the
// whole CLI is ~810 KB, a third of it `yaml`, for `apply` alone); every
// other command runs from the whole CLI's bundle.
// Plain data: loading this file loads nothing else.

export interface BundleSpec {
  /** File name in dist/cli/. */
  file: string;
  /** Top-level registry names of the commands it runs ('pipework' is the positional command line, the default). */
  commands: readonly string[];
}

/** The bundle of the whole CLI: it runs any command. */
export const WHOLE_CLI: BundleSpec = { file: 'pipewright.js', commands: [] };

/**
 * The lean bundles. A command listed here runs only from its bundle, which
 * has the dispatcher, the help and every command's usage (from the
 * registry), but the modules of its own commands alone: another command's
 * module in it is a stub that fails, and the bundler checks that each
 * listed command's module is really in.
 */
export const LEAN_BUNDLES: readonly BundleSpec[] = [
  // pipework's line (with `--help`, `--version` and no words at all), its
  // named form and what else runs per guest.
  { file: 'per-guest.js', commands: ['pipework', 'attach', 'detach', 'route', 'rule', 'tc', 'batch', 'help'] },
  // The CNI plugin: a runtime starts one process per container and verb.
  { file: 'cni.js', commands: ['cni'] },
];

/** The bundle that runs `command` (a top-level registry name). */
export function bundleFor(command: string): BundleSpec {
  return LEAN_BUNDLES.find((b) => b.commands.includes(command)) ?? WHOLE_CLI;
}
