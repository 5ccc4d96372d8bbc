// A batch plan written as JSON: an array of attach specs in the library's
// field names. A plan accepts exactly what the command line can set and
// nothing more: a plan file must not be a way to reach options the command
// line keeps to the library — where named namespaces are created (`runDir`,
// which would also make that directory a shared mount), the link group gc
// sweeps (`group`), a handle (`host`) — nor to smuggle in anything unknown.
// Everything is checked before the first attach runs. Pure: no I/O.
import { PipewrightError } from '../core/errors';
import { netnsName } from '../core/netns';
import type { AttachSpec } from '../ops/attach/spec';
import { UsageError } from './args-common';

/** The fields the command line can set (pipework-args.ts, `attach` options), as the library names them. */
export const PLAN_FIELDS = ['hostIf', 'guest', 'guestIf', 'hostEnd', 'address', 'gateway', 'mac', 'vlan', 'directPhys', 'mtu', 'dhcp', 'arp', 'ipv6LinkLocal', 'owner'] as const;

/** Library fields a plan refuses, with why (anything else unknown is refused too). */
const REFUSED: Record<string, string> = {
  runDir: 'the command line cannot choose where named namespaces are created (always /run/netns)',
  group: "the command line cannot choose the link group (pipewright's own, 0x7077)",
  host: 'the command line cannot pass a handle (attaches run in the current namespace)',
  watchMs: 'a batch does not watch (as --watch is refused on a batch line)',
  repair: 'a batch does not watch or repair (as --repair is refused on a batch line)',
};

/** The explicit guest forms, each the same as a command-line word (netns:, pid:, path:, docker:). */
const GUEST_FORMS = ['name', 'pid', 'path', 'container'];

function refuse(entry: number, field: string, value: unknown, why: string): PipewrightError {
  return new PipewrightError('ERR_PW_INVALID_ARGUMENT', `entry ${entry}: field '${field}' ${why}`, { field, value });
}

function checkGuest(entry: number, g: unknown): void {
  if (typeof g === 'string') return; // parsed as on the command line, by attach
  if (typeof g !== 'object' || g === null || Array.isArray(g)) throw refuse(entry, 'guest', g, 'must be a string (as on the command line) or one of {name}, {pid}, {path}, {container}');
  const keys = Object.keys(g);
  const unknown = keys.find((k) => !GUEST_FORMS.includes(k));
  if (unknown !== undefined) throw refuse(entry, `guest.${unknown}`, (g as Record<string, unknown>)[unknown], `is not accepted in a plan (a guest is one of {name}, {pid}, {path}, {container})`);
  if (keys.length !== 1) throw refuse(entry, 'guest', g, 'must name the guest one way: exactly one of name, pid, path, container');
  const o = g as Record<string, unknown>;
  if ('name' in o) {
    try {
      netnsName('guest.name', o.name);
    } catch (e) {
      throw refuse(entry, 'guest.name', o.name, 'is not a namespace name (a single path component, not "." or "..")');
    }
  }
}

/**
 * The specs of a JSON plan. Throws a usage error (exit 2) naming the
 * problem: malformed JSON, not an array, an entry that is not an object, a
 * field the command line cannot set.
 */
export function parseJsonPlan(text: string, file: string): AttachSpec[] {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file === '-' ? 'the plan on stdin' : file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(list)) throw new UsageError('a JSON plan must be an array of attach specs');
  const allowed = new Set<string>(PLAN_FIELDS);
  return list.map((spec, i) => {
    const entry = i + 1;
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new UsageError(`entry ${entry}: must be an object of attach fields (${PLAN_FIELDS.join(', ')})`);
    for (const [k, value] of Object.entries(spec as Record<string, unknown>)) {
      if (allowed.has(k)) continue;
      const why = REFUSED[k];
      throw refuse(entry, k, value, why ? `is not accepted in a plan: ${why}` : `is not a field a plan accepts (${PLAN_FIELDS.join(', ')})`);
    }
    checkGuest(entry, (spec as Record<string, unknown>).guest);
    return spec as AttachSpec;
  });
}
