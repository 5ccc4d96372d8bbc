// The two ways of putting veths 10..90 on a bridge that scenario §1
// compares, and the count that decides it: how many ports really are
// enslaved and up afterwards, read back from the kernel.
import { setMaxListeners } from 'node:events';
import { attach, AttachError, AttachResult } from '../attach';
import type { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { errorText, script, Exec } from './common';

/** The operator's numbering: veths 10..90 against one fresh bridge. */
export const PORTS = Array.from({ length: 81 }, (_, i) => i + 10);
export const portName = (n: number) => `veth${n}`;
/** Matches the host ends of both sides (and not their peers). */
export const PORT_RE = /^veth\d\d$/;
export const PORT_GLOB = 'veth??';

/**
 * The operator's test script, in pipework's order: create the veths, set the
 * odd ones down and the even ones up, then for each `ip link set X master br`
 * (falling back to brctl, as pipework does) and only then `ip link set X up`.
 * Run with real iproute2, inside the namespace.
 */
export const OLD_WAY_SCRIPT = `set -u
B=br0
ip link add $B type bridge && ip link set $B up || exit 1
for i in $(seq 10 90); do
  ip link add veth$i type veth peer name vpeer$i || exit 1
  if [ $((i % 2)) = 1 ]; then ip link set veth$i down; else ip link set veth$i up; fi
done
for i in $(seq 10 90); do
  L=veth$i
  ip link set $L master $B || brctl addif $B $L
  ip link set $L up
done`;

export function oldWay(ns: Netns): Promise<Exec> {
  return script(ns, OLD_WAY_SCRIPT, [], 30_000);
}

export interface PortCount {
  /** Ports that exist. */
  present: number;
  enslaved: number;
  up: number;
  /** Enslaved and up: what "attached" means. */
  good: number;
  /** The names that are not both. */
  broken: string[];
  /** The names that exist. */
  names: string[];
}

/** Reads back every veth host end in `h`: enslaved to `bridge`, and up? */
export async function countPorts(h: Handle, bridge = 'br0'): Promise<PortCount> {
  const links = await h.link.list();
  const br = links.find((l) => l.name === bridge);
  const ports = links.filter((l) => PORT_RE.test(l.name));
  const enslaved = ports.filter((l) => br !== undefined && l.master === br.index);
  const up = ports.filter((l) => l.up);
  const good = ports.filter((l) => br !== undefined && l.master === br.index && l.up);
  const broken = ports.filter((l) => !good.includes(l)).map((l) => l.name);
  return { present: ports.length, enslaved: enslaved.length, up: up.length, good: good.length, broken: broken.sort(), names: ports.map((l) => l.name) };
}

export interface PipewrightRun {
  attached: number;
  /** attach() refused, naming the port (with nothing left behind), or reported an incident it could not repair. */
  failed: Array<{ port: string; code: string; message: string }>;
  /** Incidents seen while watching, and how many were put right. */
  incidents: number;
  repairs: number;
  results: Map<string, AttachResult>;
}

/**
 * An upper bound only, never meant to be reached: each watch ends when the
 * agent is done (pipewrightWay's `until`). A window of fixed length would
 * decide the outcome by how fast the machine is: an agent slowed down by
 * load acts after it, and the port stays undone.
 */
const WATCH_LIMIT_MS = 300_000;

/**
 * pipewright's side: one guest namespace per port, and attach() for each —
 * the veth born UP and enslaved in one request, read back, then watched with
 * repair on. All attaches run at once, as a busy host would. `until` runs
 * alongside and resolves when the agent has finished acting (its last action
 * taken, or its restart settled); the watches end then, each after one last
 * read-back of its port, so every action the agent took is judged. Guests
 * are pushed onto `guests`, which the caller closes whatever happens.
 */
export async function pipewrightWay(h: Handle, guests: Netns[], until: () => Promise<void>): Promise<PipewrightRun & { watchedMs: number }> {
  const run: PipewrightRun = { attached: 0, failed: [], incidents: 0, repairs: 0, results: new Map() };
  for (const _ of PORTS) guests.push(await Netns.create());
  const watchEnd = new AbortController();
  setMaxListeners(PORTS.length + 1, watchEnd.signal); // one watcher per port
  const started = Date.now();
  let watchedMs = 0;
  const [settled, agentError] = await Promise.all([
    Promise.allSettled(
      PORTS.map((n, i) =>
        attach({ host: h, hostIf: 'br0', guest: guests[i]!, guestIf: 'eth0', hostEnd: portName(n), address: `10.0.0.${n}/24`, watchMs: WATCH_LIMIT_MS, watchSignal: watchEnd.signal, repair: true }),
      ),
    ),
    // Whatever happens to the agent, the watches end.
    until()
      .finally(() => {
        watchedMs = Date.now() - started;
        watchEnd.abort();
      })
      .then(
        () => null,
        (e: unknown) => e,
      ),
  ]);
  if (agentError) throw agentError;
  settled.forEach((s, i) => {
    const port = portName(PORTS[i]!);
    if (s.status === 'fulfilled') {
      run.attached++;
      run.results.set(port, s.value);
      for (const inc of s.value.incidents ?? []) {
        run.incidents++;
        if (inc.repaired) run.repairs++;
        // An incident it could not repair is a reported failure, not a success.
        else run.failed.push({ port, code: 'INCIDENT', message: `${port}: ${inc.what} (not repaired)` });
      }
    } else {
      const e = s.reason as AttachError;
      run.failed.push({ port, code: e.code ?? 'ERR', message: errorText(e) });
    }
  });
  return { ...run, watchedMs };
}

/**
 * pipewright's promise: every port it reported as attached is enslaved and
 * up, and every one that is not was reported as failed. Returns the ports
 * that break it (broken yet reported attached).
 */
/** Ports that are neither enslaved and up nor reported as failed (missing ones included): must be none. */
export function unaccounted(run: PipewrightRun, after: PortCount): string[] {
  const reported = new Set(run.failed.map((f) => f.port));
  return PORTS.map(portName).filter((p) => (after.broken.includes(p) || !after.names.includes(p)) && !reported.has(p));
}

export function silentlyBroken(run: PipewrightRun, after: PortCount): string[] {
  return after.broken.filter((p) => run.results.has(p) && !run.failed.some((f) => f.port === p));
}
