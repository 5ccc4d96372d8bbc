// The option parser of every registered command but pipework's positional
// grammar (pipework-args.ts) and the ip-style readers: long options
// (--format svg, --format=svg), their one-letter forms (-i eth1), flags,
// `--` ending the options, and a positional count. An option the command
// does not have is refused by name, with the closest one it does have.
import type { OptionSpec } from './registry';
import { UsageError } from './args-common';
import { didYouMean } from './suggest';

export interface ParsedArgs {
  /** Flags given (by long name, without dashes). */
  flags: Set<string>;
  /** Options with values (by long name). */
  options: Map<string, string>;
  positional: string[];
}

function spelling(o: OptionSpec): string[] {
  return [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])];
}

/** Parses args (after the command's name) against a command's options; `what` names it in errors. */
export function parseOptions(args: readonly string[], specs: readonly OptionSpec[], positional: readonly [number, number], what: string): ParsedArgs {
  const out: ParsedArgs = { flags: new Set(), options: new Map(), positional: [] };
  const byWord = new Map<string, OptionSpec>();
  for (const o of specs) for (const s of spelling(o)) byWord.set(s, o);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.positional.push(...args.slice(i + 1));
      break;
    }
    // A lone '-' (stdin) and negative numbers are values, not options.
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      out.positional.push(a);
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const word = eq < 0 ? a : a.slice(0, eq);
    const o = byWord.get(word);
    if (!o) throw new UsageError(`${what}: unknown option '${word}'${didYouMean(word, byWord.keys())}`, what);
    if (o.value === undefined) {
      if (eq >= 0) throw new UsageError(`${what}: option '${word}' takes no value`, what);
      if (out.flags.has(o.name)) throw new UsageError(`${what}: option '${word}' is given twice`, what);
      out.flags.add(o.name);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UsageError(`${what}: option '${word}' needs a value (${o.value})`, what);
    if (out.options.has(o.name)) throw new UsageError(`${what}: option '${word}' is given twice`, what);
    out.options.set(o.name, value);
  }
  const [min, max] = positional;
  const n = out.positional.length;
  if (n > max) throw new UsageError(`${what}: too many arguments: '${out.positional.slice(max).join(' ')}'`, what);
  if (n < min) throw new UsageError(`${what}: ${min === max ? `needs exactly ${min}` : `needs at least ${min}`} argument(s), got ${n}`, what);
  return out;
}
