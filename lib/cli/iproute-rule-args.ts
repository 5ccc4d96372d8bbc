// `ip rule` argument syntax (the common forms) → a RuleSpec for the library.
// Pure: the command does the netlink part.
//
//   [-4|-6] add|del [from P|all] [to P|all] [lookup|table N] [priority|pref|order N]
//           [iif|dev X] [oif X] [fwmark N] [blackhole|unreachable|prohibit]
//   [-4|-6] [show|list]
import type { RuleAction, RuleSpec } from '../core/types';
import * as v from '../core/validate';
import { UsageError, parseUint, iprouteReader } from './args-common';
import { checked, parseTable } from './iproute-route-args';

export type RuleCommand = { verb: 'add' | 'del'; spec: RuleSpec } | { verb: 'show'; family: 4 | 6 };

const VERBS: Record<string, 'add' | 'del' | 'show'> = { add: 'add', del: 'del', delete: 'del', show: 'show', list: 'show', ls: 'show', lst: 'show' };
const ACTIONS: readonly RuleAction[] = ['blackhole', 'unreachable', 'prohibit'];

export function parseRuleArgs(args: readonly string[]): RuleCommand {
  const r = iprouteReader('rule', args, VERBS, 'add, del, show or list');
  const { words: a, verb, word, value } = r;
  let family = r.family;
  if (verb === 'show') {
    if (a.length) throw new UsageError(`rule show: filters are not supported (unexpected '${a[0]}')`);
    return { verb, family: family ?? 4 };
  }

  const spec: RuleSpec = {};
  const prefix = (key: 'from' | 'to') => {
    const text = value(key);
    if (text === 'all') return;
    const c = checked(word, () => v.cidr(key, text, { 4: 32, 6: 128 }));
    if (family !== undefined && c.family !== family) throw new UsageError(`${word}: ${key} ${text} is IPv${c.family}, but the rule is IPv${family}`);
    family = c.family;
    spec[key] = `${c.address}/${c.prefixLen}`;
  };

  while (a.length) {
    const tok = a.shift()!;
    switch (tok) {
      case 'from': prefix('from'); break;
      case 'to': prefix('to'); break;
      case 'lookup': case 'table': spec.table = parseTable(word, value('lookup')); break;
      case 'priority': case 'pref': case 'preference': case 'order': spec.priority = parseUint(`${word} priority`, value('priority'), 0, 0xffffffff); break;
      case 'iif': case 'dev': spec.iif = checked(word, () => v.ifname('iif', value('iif'))); break;
      case 'oif': spec.oif = checked(word, () => v.ifname('oif', value('oif'))); break;
      case 'fwmark': {
        const text = value('fwmark');
        if (text.includes('/')) throw new UsageError(`${word}: fwmark masks are not supported ('${text}')`);
        const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : parseUint(`${word} fwmark`, text, 0, 0xffffffff);
        if (n > 0xffffffff) throw new UsageError(`${word} fwmark must fit in 32 bits, not '${text}'`);
        spec.fwmark = n;
        break;
      }
      default:
        if ((ACTIONS as readonly string[]).includes(tok)) {
          if (spec.action !== undefined) throw new UsageError(`${word}: more than one action ('${spec.action}', '${tok}')`);
          spec.action = tok as RuleAction;
        } else throw new UsageError(`${word}: unknown argument '${tok}'`);
    }
  }
  if (family !== undefined) spec.family = family;
  if (spec.action !== undefined && spec.table !== undefined) throw new UsageError(`${word}: '${spec.action}' and 'lookup ${spec.table}' exclude each other`);
  if (verb === 'add' && spec.action === undefined && spec.table === undefined)
    throw new UsageError(`${word}: 'lookup TABLE' is required (or blackhole, unreachable, prohibit)`);
  return { verb, spec };
}
