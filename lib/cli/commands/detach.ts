// `pipewright detach GUEST [-i GUESTIF] [--force]` / `detach --guest NAME
// --guest-if IF`: removes what attach made (both ends of a veth, a macvlan,
// or moves a --direct-phys device back) and says what went. An interface
// pipewright did not make is refused (exit 6) unless --force; one that is
// already gone is "nothing attached" (exit 0), as CNI's DEL. Silent on
// success unless -v, as attach.
import type { CommandContext } from '../registry';
import { Parsed, verbosity } from '../pipework-args';
import { Io, line, printJson } from '../report';
import { EXIT } from '../exit-codes';
import { UsageError, parseIfname } from '../args-common';

export type DetachParsed = Extract<Parsed, { kind: 'detach' }>;

export function detachFromOptions(positional: string | undefined, o: { guest?: string; guestIf?: string; json?: boolean; force?: boolean; verbose?: boolean; quiet?: boolean }): DetachParsed {
  if (positional !== undefined && o.guest !== undefined) throw new UsageError('the guest is given twice (GUEST and --guest)');
  const guest = positional ?? o.guest;
  if (guest === undefined) throw new UsageError('detach needs GUEST (or --guest NAME)');
  return {
    kind: 'detach', guest, ...(o.guestIf !== undefined ? { guestIf: parseIfname('--guest-if', o.guestIf) } : {}), json: !!o.json, ...(o.force ? { force: true } : {}),
    ...verbosity(!!o.verbose, !!o.quiet),
  };
}

export function run({ args, io }: CommandContext): Promise<number> {
  const guest = args.options.get('guest');
  const guestIf = args.options.get('guest-if');
  const f = (name: string) => args.flags.has(name);
  return runDetach(detachFromOptions(args.positional[0], {
    ...(guest !== undefined ? { guest } : {}), ...(guestIf !== undefined ? { guestIf } : {}),
    json: f('json'), force: f('force'), verbose: f('verbose'), quiet: f('quiet'),
  }), io);
}

export async function runDetach(p: DetachParsed, io: Io): Promise<number> {
  // Lazy: this module loads for every commander command (help, route ...); detach's stack only to detach.
  const { detach } = await import('../../ops/attach/detach');
  const r = await detach({ guest: p.guest, ...(p.guestIf !== undefined ? { guestIf: p.guestIf } : {}), ...(p.force ? { force: true } : {}) });
  if (p.json) printJson(io, r);
  else if (!p.verbose) {
    if (r.forced && !p.quiet) line(io.stderr, `pipewright: warning: --force removed an interface that is not pipewright's (${r.forced})`);
  } else if (r.status === 'nothing-attached') {
    line(io.stdout, `nothing attached: ${r.note ?? `guest ${r.guest} has no interface '${r.guestIf}'`}`);
    for (const what of r.removed) line(io.stdout, `  ${what}`);
  } else {
    line(io.stdout, `detached ${r.guestIf} from guest ${r.guest}:`);
    for (const what of r.removed) line(io.stdout, `  ${what}`);
    if (r.forced) line(io.stderr, `pipewright: warning: --force removed an interface that is not pipewright's (${r.forced})`);
  }
  return EXIT.OK;
}
