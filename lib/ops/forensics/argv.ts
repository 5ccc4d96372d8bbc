// The forensics commands' small command lines (--json, --all, --format F,
// --owner O, ...), parsed without the CLI's grammar so each command file
// stays self-contained. A bad command line is ERR_PW_INVALID_ARGUMENT.
import { invalidArgument } from '../../core/errors';

export interface ArgSpec {
  /** Flags without a value. */
  flags?: readonly string[];
  /** Options that take a value (--format svg, --format=svg). */
  options?: readonly string[];
  /** How many positional arguments: [min, max]. */
  positional?: readonly [number, number];
}

export interface ParsedArgs {
  flags: Set<string>;
  options: Map<string, string>;
  positional: string[];
}

export function parseArgs(args: readonly string[], spec: ArgSpec): ParsedArgs {
  const out: ParsedArgs = { flags: new Set(), options: new Map(), positional: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--') || a === '--') {
      out.positional.push(...(a === '--' ? args.slice(i + 1) : [a]));
      if (a === '--') break;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (spec.flags?.includes(name) && eq < 0) out.flags.add(name);
    else if (spec.options?.includes(name)) {
      const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw invalidArgument(`--${name}`, undefined, 'needs a value');
      out.options.set(name, value);
    } else throw invalidArgument('argv', a, `is not an option here (known: ${[...(spec.flags ?? []), ...(spec.options ?? [])].map((x) => `--${x}`).join(' ') || 'none'})`);
  }
  const [min, max] = spec.positional ?? [0, 0];
  if (out.positional.length < min || out.positional.length > max)
    throw invalidArgument('argv', out.positional, min === max ? `needs exactly ${min} argument(s)` : `needs ${min} to ${max} argument(s)`);
  return out;
}
