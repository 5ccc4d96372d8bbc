// handle.rule: policy routing rules.
import type { Handle } from '../handle';
import type { Rule, RuleSpec } from '../types';
import * as v from '../validate';
import { invalidArgument } from '../errors';
import type { OpArgs } from '../op-types';

const ACTIONS = ['lookup', 'blackhole', 'unreachable', 'prohibit'] as const;

/** Validates a rule; `forDelete` allows selecting a rule by its priority alone. */
export function ruleArgs(spec: RuleSpec, forDelete = false): OpArgs['rule.add'] {
  const o = v.object('rule', spec) as Record<string, unknown>;
  v.knownKeys('', o, ['family', 'priority', 'from', 'to', 'table', 'iif', 'oif', 'fwmark', 'action']);
  const a: OpArgs['rule.add'] = {};
  let family: 4 | 6 | undefined = o.family === undefined ? undefined : (Number(v.oneOf('family', String(o.family), ['4', '6'] as const)) as 4 | 6);
  for (const key of ['from', 'to'] as const) {
    if (o[key] === undefined) continue;
    const c = v.cidr(key, o[key], { 4: 32, 6: 128 });
    if (family && c.family !== family) throw invalidArgument(key, o[key], `is IPv${c.family} but the rule is IPv${family}`);
    family = c.family;
    a[key] = c.address;
    a[`${key}Len` as const] = c.prefixLen;
  }
  a.family = family ?? 4;
  if (o.priority !== undefined) a.priority = v.uint('priority', o.priority, 0, 0xffffffff);
  if (o.table !== undefined) a.table = v.uint('table', o.table, 1, 0xffffffff);
  if (o.iif !== undefined) a.iif = v.ifname('iif', o.iif);
  if (o.oif !== undefined) a.oif = v.ifname('oif', o.oif);
  if (o.fwmark !== undefined) a.fwmark = v.uint('fwmark', o.fwmark, 0, 0xffffffff);
  const action = o.action === undefined ? 'lookup' : v.oneOf('action', o.action, ACTIONS);
  if (!forDelete && action === 'lookup' && a.table === undefined) throw invalidArgument('table', undefined, 'is required for a lookup rule');
  // A delete without an action matches rules of any action (the kernel's wildcard).
  if (o.action !== undefined || !forDelete) a.action = action;
  return a;
}

export class RuleApi {
  constructor(private readonly h: Handle) {}

  async add(spec: RuleSpec): Promise<void> {
    await this.h.run('rule.add', ruleArgs(spec));
  }

  async del(spec: RuleSpec): Promise<void> {
    await this.h.run('rule.del', ruleArgs(spec, true));
  }

  async list(filter: { family?: 4 | 6 } = {}): Promise<Rule[]> {
    v.knownKeys('', v.object('filter', filter), ['family']);
    const family = filter.family === undefined ? undefined : Number(v.oneOf('family', String(filter.family), ['4', '6'] as const));
    return this.h.run('rule.list', family === undefined ? {} : { family: family as 4 | 6 });
  }
}
