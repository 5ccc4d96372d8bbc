// `pipewright detach GUEST [-i GUESTIF]` / `detach --guest NAME --guest-if IF`:
// removes what attach made (both ends of a veth, a macvlan, or moves a
// --direct-phys device back) and says what went.
import type { Command } from 'commander';
import type { Cli } from '../main';
import type { Parsed } from '../pipework-args';
import { Io, line, printJson } from '../report';
import { EXIT } from '../exit-codes';
import { UsageError, parseIfname } from '../args-common';

export type DetachParsed = Extract<Parsed, { kind: 'detach' }>;

export function detachFromOptions(positional: string | undefined, o: { guest?: string; guestIf?: string; json?: boolean }): DetachParsed {
  if (positional !== undefined && o.guest !== undefined) throw new UsageError('the guest is given twice (GUEST and --guest)');
  const guest = positional ?? o.guest;
  if (guest === undefined) throw new UsageError('detach needs GUEST (or --guest NAME)');
  return { kind: 'detach', guest, ...(o.guestIf !== undefined ? { guestIf: parseIfname('--guest-if', o.guestIf) } : {}), json: !!o.json };
}

export function register(program: Command, cli: Cli): void {
  program
    .command('detach')
    .description("remove a guest's interface made by attach (a veth goes with its host end)")
    .argument('[guest]', 'container name/ID, netns name, PID, nsfs path, netns:NAME, pid:N, path:P')
    .option('--guest <ref>', 'the guest, as a named option')
    .option('-i, --guest-if <name>', 'interface inside the guest (default eth1)')
    .option('--json', 'print the result as JSON')
    .action((guest: string | undefined, o: { guest?: string; guestIf?: string; json?: boolean }) => cli.execute(detachFromOptions(guest, o)));
}

export async function runDetach(p: DetachParsed, io: Io): Promise<number> {
  const { detach } = await import('../../attach/detach');
  const r = await detach({ guest: p.guest, ...(p.guestIf !== undefined ? { guestIf: p.guestIf } : {}) });
  if (p.json) printJson(io, r);
  else {
    line(io.stdout, `detached ${r.guestIf} from guest ${r.guest}:`);
    for (const what of r.removed) line(io.stdout, `  ${what}`);
  }
  return EXIT.OK;
}
