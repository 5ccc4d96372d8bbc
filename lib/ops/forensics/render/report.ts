// Human-readable text for the forensics results (the CLI prints these; JSON
// output is the result objects themselves).
import { isLocalOnly } from '../find';
import type { FindResult } from '../find';
import type { DoctorReport } from '../doctor';
import type { GcResult } from '../gc';
import type { HoldersReport } from '../holders';
import type { NetnsScan, ScannedNetns } from '../types';

function cols(rows: string[][]): string[] {
  const w: number[] = [];
  for (const r of rows) r.forEach((c, i) => (w[i] = Math.max(w[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd());
}

function holdersSummary(n: ScannedNetns): string {
  const parts: string[] = [];
  if (n.processes.length) {
    const first = n.processes.slice(0, 2).map((p) => `${p.pid}(${p.comm})${p.allThreads ? '' : `[tid ${p.tids.join(',')}]`}`);
    parts.push(`pid ${first.join(' ')}${n.processes.length > 2 ? ` +${n.processes.length - 2}` : ''}`);
  }
  if (n.mounts.length) {
    const foreign = n.mounts.filter((m) => !m.ours).length;
    parts.push(`mount ${n.mounts.filter((m) => m.ours).map((m) => m.mountPoint).slice(0, 1).join('') || n.mounts[0]!.mountPoint}${n.mounts.length > 1 ? ` +${n.mounts.length - 1}` : ''}${foreign ? ` (${foreign} in other mount ns)` : ''}`);
  }
  if (n.fds.length) parts.push(`fd ${n.fds.slice(0, 2).map((f) => `${f.pid}:${f.fd}`).join(' ')}${n.fds.length > 2 ? ` +${n.fds.length - 2}` : ''}`);
  return parts.join('; ');
}

export function formatNetnsList(scan: NetnsScan): string {
  const rows = [['NETNS', 'NAME', 'IFS', 'ADDRESSES', 'FLAGS', 'HELD BY']];
  for (const n of scan.namespaces) {
    const flags = [n.flags.current && 'current', n.flags.orphan && 'orphan', n.flags.unreachableFromHere && 'unreachable'].filter(Boolean).join(',');
    const addrs = (n.addresses ?? []).filter((a) => !isLocalOnly(a.address)).map((a) => `${a.address}/${a.prefixLen}`);
    rows.push([n.id, n.names.map((x) => x.name).join(',') || '-', n.interfaces === undefined ? '?' : String(n.interfaces), addrs.slice(0, 3).join(' ') + (addrs.length > 3 ? ` +${addrs.length - 3}` : '') || '-', flags || '-', holdersSummary(n)]);
  }
  const out = cols(rows);
  for (const s of scan.stale) out.push(`stale name: ${s.path} (${s.reason})`);
  out.push(`${scan.namespaces.length} namespace(s), scanned in ${scan.elapsedMs} ms`);
  return out.join('\n') + '\n';
}

export function formatHolders(r: HoldersReport): string {
  const out = [`netns ${r.id}${r.flags.orphan ? ' (orphan: no process)' : ''}${r.flags.unreachableFromHere ? ' (unreachable from here)' : ''}`];
  if (!r.alive) out.push('  nothing visible holds it: it is gone (or held only by a socket created inside it)');
  for (const n of r.names) out.push(`  name     ${n.path}`);
  for (const p of r.processes) out.push(`  process  ${p.pid} (${p.comm})${p.allThreads ? '' : ` threads ${p.tids.join(',')}`}`);
  for (const f of r.fds) out.push(`  fd       ${f.fd} of pid ${f.pid} (${f.comm})`);
  for (const m of r.mounts) out.push(`  mount    ${m.mountPoint} in mnt:[${m.mntns}]${m.ours ? ' (ours)' : ` via pid ${m.pid} (${m.comm}): ${m.path}`}`);
  if (r.releases.length) {
    out.push('to release it:');
    for (const x of r.releases) out.push(`  ${x.action}\n      ${x.command}`);
  }
  return out.join('\n') + '\n';
}

export function formatFind(r: FindResult): string {
  if (r.matches.length === 0) return `${r.query}: not found in any namespace\n`;
  const rows = [['NETNS', 'IF', r.kind === 'ip' ? 'ADDRESS' : 'MAC', 'VIA', 'ENTER WITH']];
  for (const m of r.matches) {
    rows.push([m.netns + (m.flags.orphan ? ' (orphan)' : ''), m.ifname, r.kind === 'ip' ? `${m.address}/${m.prefixLen}` : m.mac ?? '-', m.via, m.path ? `nsenter --net=${m.path}` : '-']);
  }
  const out = cols(rows);
  if (r.conflict) out.push(`conflict: ${r.query} is configured in ${r.namespaces.length} namespaces`);
  return out.join('\n') + '\n';
}

export function formatDoctor(r: DoctorReport): string {
  const out: string[] = [];
  for (const c of r.checks) {
    out.push(`${c.skipped ? 'skip' : c.ok ? ' ok ' : 'FAIL'}  ${c.id}: ${c.verdict}`);
    if (!c.ok && c.fix) out.push(`      fix: ${c.fix}`);
  }
  const bad = r.checks.filter((c) => !c.ok).length;
  out.push(`${bad ? `${bad} problem(s) found` : 'nothing found'} (namespace ${r.target}; ${r.namespaces} namespaces checked in ${r.elapsedMs} ms)`);
  return out.join('\n') + '\n';
}

export function formatGc(r: GcResult): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const out: string[] = [];
  for (const l of r.links) out.push(`${verb} link ${l.name} (owner ${l.owner}): ${l.detail}`);
  for (const a of r.attachments) {
    out.push(`${r.dryRun ? 'would roll back' : 'rolled back'} ${a.status} attach of ${a.guestIf} in guest ${a.guest} (owner ${a.owner}, pid ${a.pid}, started ${a.startedAt}):`);
    for (const x of a.actions) out.push(`  ${x}`);
    if (!a.actions.length) out.push('  (nothing of it is left in the kernel; its journal entry goes)');
    for (const x of a.leftBehind) out.push(`  left alone: ${x}`);
    for (const x of a.failed) out.push(`  FAILED: ${x} (the journal entry stays)`);
    if (a.completed) out.push('status' in a.completed ? `  attached again: ${a.completed.status}` : `  could not attach again: ${a.completed.error}`);
  }
  for (const f of r.forgotten) out.push(`${r.dryRun ? 'would forget' : 'forgot'} journal entry ${f} (its attachment no longer exists)`);
  for (const n of r.namespaces) {
    out.push(`${verb} namespace ${n.id}: ${r.dryRun ? 'unlink' : 'unlinked'} ${n.mounts.join(', ') || 'no mount'}`);
    for (const k of n.kept ?? []) out.push(`  left alone: ${k.mountPoint}${k.mntns !== undefined ? ` in mnt:[${k.mntns}]` : ''} (${k.why}); to release it: ${k.command}`);
    for (const left of n.remaining) out.push(`  still held: ${left}`);
  }
  for (const s of r.skipped) out.push(`left alone ${s.name}${s.index !== undefined ? ` (index ${s.index})` : ''}: ${s.why}`);
  if (!r.links.length && !r.namespaces.length && !r.attachments.length && !r.forgotten.length) out.push('nothing leaked');
  else if (!r.dryRun && r.batch.kind !== 'none') out.push(`links deleted in one request (${r.batch.kind === 'index' ? 'by index' : `temporary group ${r.batch.group}`}) in ${r.batch.ms} ms`);
  return out.join('\n') + '\n';
}
