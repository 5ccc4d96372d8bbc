// Whose is an existing bridge or VXLAN device, for a declarative operation:
// its own (the declared mark, same owner, same topology or none yet), or
// not — a device someone else made, which is never changed or deleted.
import { PipewrightError } from '../../core/errors';
import type { Link } from '../../core/types';
import { parseDeclaredAlias, type DeclaredMark } from '../ownership';

export function conflict(message: string, field: string, value: unknown): PipewrightError {
  return new PipewrightError('ERR_PW_CONFLICT', message, { field, value });
}

export type Standing =
  /** Ours, and already this topology's (or no topology's, asked without one). */
  | { ours: true; mark: DeclaredMark; adopt: false }
  /** Ours but made outside any topology: a topology apply takes it over (its mark gets the topology). */
  | { ours: true; mark: DeclaredMark; adopt: true }
  | { ours: false; why: string };

/** How `link` stands for an operation of `owner` (and `topology`, for `pipewright apply`). */
export function standing(link: Link, kind: DeclaredMark['kind'], owner: string, topology?: string): Standing {
  const mark = parseDeclaredAlias(link.alias);
  if (!mark || mark.kind !== kind) return { ours: false, why: link.alias ? `its alias '${link.alias}' is not pipewright's mark for a ${kind}` : 'it carries no pipewright mark' };
  if (mark.owner !== owner) return { ours: false, why: `it belongs to owner '${mark.owner}', not '${owner}'` };
  if (topology === undefined || mark.topology === topology) return { ours: true, mark, adopt: false };
  if (mark.topology === undefined) return { ours: true, mark, adopt: true };
  return { ours: false, why: `it belongs to topology '${mark.topology}', not '${topology}'` };
}
