// `pipewright rule GUEST ARGS...`: pipework ran `ip netns exec PID ip rule
// ARGS`; we parse the same arguments and send the request natively through a
// Handle in the guest's namespace. show/list print like `ip rule`.
import type { Handle } from '../../core/handle';
import type { Rule, RuleSpec } from '../../core/types';
import type { CommandContext } from '../registry';
import { helpFor } from '../help';
import { parsePipeworkArgs, Parsed } from '../pipework-args';
import { parseRuleArgs } from '../iproute-rule-args';
import { TABLE_IDS } from '../iproute-route-args';
import { Io, line, printJson } from '../report';
import { EXIT } from '../exit-codes';
import { inGuest } from '../in-guest';

export type RuleParsed = Extract<Parsed, { kind: 'rule' }>;

/** `pipewright rule GUEST ...`: the words go through pipework's grammar, as `pipework rule` did. */
export async function run({ argv, io }: CommandContext): Promise<number> {
  const p = parsePipeworkArgs(['rule', ...argv]);
  if (p.kind === 'help') {
    io.stdout.write(helpFor('rule'));
    return EXIT.OK;
  }
  return runRule(p as RuleParsed, io);
}

const TABLE_NAMES = new Map(Object.entries(TABLE_IDS).map(([name, id]) => [id, name]));

function prefixText(addr: string | undefined, len: number, family: 4 | 6): string {
  if (addr === undefined || len === 0) return 'all';
  return len === (family === 4 ? 32 : 128) ? addr : `${addr}/${len}`;
}

/** One rule as `ip rule` prints it. */
export function formatRule(r: Rule): string {
  const p = [`${r.priority ?? 0}:`, `from ${prefixText(r.from, r.fromLen, r.family)}`];
  if (r.to !== undefined && r.toLen > 0) p.push(`to ${prefixText(r.to, r.toLen, r.family)}`);
  if (r.fwmark !== undefined && r.fwmark !== 0) p.push(`fwmark 0x${r.fwmark.toString(16)}`);
  if (r.iif !== undefined) p.push(`iif ${r.iif}`);
  if (r.oif !== undefined) p.push(`oif ${r.oif}`);
  p.push(r.action === 'lookup' ? `lookup ${TABLE_NAMES.get(r.table) ?? r.table}` : r.action);
  return `${p[0]}\t${p.slice(1).join(' ')}`;
}

function sameFields(r: Rule, s: RuleSpec): boolean {
  const pfx = (a: string | undefined, len: number) => (a === undefined || len === 0 ? undefined : `${a}/${len}`);
  return (
    (s.priority === undefined || r.priority === s.priority) &&
    (s.from === undefined || pfx(r.from, r.fromLen) === s.from) &&
    (s.to === undefined || pfx(r.to, r.toLen) === s.to) &&
    (s.iif === undefined || r.iif === s.iif) &&
    (s.oif === undefined || r.oif === s.oif) &&
    (s.fwmark === undefined || r.fwmark === s.fwmark)
  );
}

/**
 * `ip rule del priority 1000` names no table; the library needs one for a
 * lookup rule. Take it from the first rule that matches (the kernel deletes
 * the first match too); when none does, the kernel says so (ENOENT).
 */
async function completeDel(h: Handle, spec: RuleSpec): Promise<RuleSpec> {
  if (spec.table !== undefined || spec.action !== undefined) return spec;
  const rules = await h.rule.list({ family: spec.family ?? 4 });
  const found = rules.find((r) => sameFields(r, spec));
  if (!found) return { ...spec, table: TABLE_IDS.main! };
  return found.action === 'lookup' ? { ...spec, table: found.table } : { ...spec, action: found.action as RuleSpec['action'] & string };
}

export async function runRule(p: RuleParsed, io: Io): Promise<number> {
  const cmd = parseRuleArgs(p.args);
  return inGuest(p.guest, async (h) => {
    if (cmd.verb === 'show') {
      const rules = await h.rule.list({ family: cmd.family });
      if (p.json) printJson(io, rules);
      else for (const r of rules) line(io.stdout, formatRule(r));
      return EXIT.OK;
    }
    if (cmd.verb === 'add') await h.rule.add(cmd.spec);
    else await h.rule.del(await completeDel(h, cmd.spec));
    if (p.json) printJson(io, { ok: true, verb: cmd.verb, rule: cmd.spec });
    return EXIT.OK;
  });
}
