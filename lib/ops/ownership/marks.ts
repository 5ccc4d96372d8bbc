// The marks pipewright writes on what it creates, and how they are read.
//  - a host end (and a macvlan, in the guest): link group 0x7077 in the
//    creating request, and the alias "pipewright owner=O guest=DEV:INO if=IF";
//  - a bridge it creates: "pipewright owner=O bridge";
//  - a device moved into a guest: "pipewright owner=O phys=ORIGINAL".
// The kernel applies a group when it creates a link but an alias only as a
// change (design notes), so a process killed between the two leaves a link
// with the group and no alias: only the journal can then say it is ours.
//
// This is the one place these marks are spelt: attach writes them, gc,
// detach and the forensics read them, all through this module.

/** The link group pipewright puts its host ends in ("pw" in ASCII). */
export const PIPEWRIGHT_GROUP = 0x7077;

/** The start every mark of ours has, followed by "owner=O ". */
const OWNER_MARK = /^pipewright owner=(\S+) /;

const OWNER_ALIAS = /^pipewright owner=(\S+) guest=(\d+:\d+) if=(\S+)$/;
const PHYS_ALIAS = /^pipewright owner=(\S+) phys=(\S+)$/;
const BRIDGE_ALIAS = /^pipewright owner=(\S+) bridge$/;

export function ownerAlias(owner: string, guestNetns: string, guestIf: string): string {
  return `pipewright owner=${owner} guest=${guestNetns} if=${guestIf}`;
}

export function bridgeAlias(owner: string): string {
  return `pipewright owner=${owner} bridge`;
}

export function physAlias(owner: string, original: string): string {
  return `pipewright owner=${owner} phys=${original}`;
}

/** The owner mark of a host end (or macvlan), or null. */
export function parseOwnerAlias(alias: string | undefined): { owner: string; guest: string; guestIf: string } | null {
  const m = alias === undefined ? null : OWNER_ALIAS.exec(alias);
  return m ? { owner: m[1]!, guest: m[2]!, guestIf: m[3]! } : null;
}

/** The mark of a device moved into a guest, or null. */
export function parsePhysAlias(alias: string | undefined): { owner: string; original: string } | null {
  const m = alias === undefined ? null : PHYS_ALIAS.exec(alias);
  return m ? { owner: m[1]!, original: m[2]! } : null;
}

/** The owner named by any of our marks (host end, bridge, moved device), or null. */
export function markOwner(alias: string | undefined): string | null {
  const m = alias === undefined ? null : OWNER_MARK.exec(alias);
  return m ? m[1]! : null;
}

export function isBridgeMark(alias: string | undefined): boolean {
  return alias !== undefined && BRIDGE_ALIAS.test(alias);
}

// What the declarative operations (lib/ops/overlay) create: a bridge or a
// VXLAN device, optionally belonging to a named topology (what `pipewright
// apply FILE` converges: it removes only its own topology's), with the
// gateway address it gave a bridge (so a changed address replaces exactly
// the one it set, and nothing an operator added).
const DECLARED_ALIAS = /^pipewright owner=(\S+) declared=(bridge|overlay)(?: topology=(\S+))?(?: address=(\S+))?$/;

export interface DeclaredMark {
  owner: string;
  kind: 'bridge' | 'overlay';
  topology?: string;
  address?: string;
}

export function declaredAlias(m: DeclaredMark): string {
  return `pipewright owner=${m.owner} declared=${m.kind}${m.topology ? ` topology=${m.topology}` : ''}${m.address ? ` address=${m.address}` : ''}`;
}

/** The mark of a bridge or VXLAN device a declarative operation created, or null. */
export function parseDeclaredAlias(alias: string | undefined): DeclaredMark | null {
  const m = alias === undefined ? null : DECLARED_ALIAS.exec(alias);
  if (!m) return null;
  return { owner: m[1]!, kind: m[2] as DeclaredMark['kind'], ...(m[3] ? { topology: m[3] } : {}), ...(m[4] ? { address: m[4] } : {}) };
}
