// §5 Retry storms don't accumulate. An attach made to fail at every step of
// its plan in turn (a failpoint, ../transaction.ts: the step does its work, then
// fails), and by real faults (a guest handle that is no namespace, a missing
// non-bridge host interface, a host-end name already taken), each repeated
// many times: links, addresses, routes, mounts, named namespaces, namespace
// fds and open fds must be exactly as before. The old way — pipework's
// sequence with real `ip`, failing after each step and retried — for contrast.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attach, planAttach, AttachError } from '../attach';
import { failAt, setFailpoint } from '../transaction';
import type { AttachSpec } from '../attach/spec';
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { Checks, errorText, privateHost, uniqueName } from './common';
import { oldStorm } from './retry-storm-old';
import { counts, diff, netState, procState } from './state';
import type { Scenario } from './types';

/** Tries per failing step (pipewright) and per step (old way: the leftovers show after one). */
const TRIES = 20;
const OLD_TRIES = 3;

interface Fault {
  what: string;
  spec: Partial<AttachSpec>;
  /** The error code expected, and for injected faults the step it must name. */
  code: string;
  step?: string;
}

export const retryStorm: Scenario = {
  name: 'retry-storm',
  title: "Retry storms don't accumulate (every failure rolled back)",
  section: 5,
  async run() {
    const c = new Checks();
    const host = await privateHost();
    const guest = await Netns.create({ name: uniqueName('pwstorm') });
    const dir = mkdtempSync(join(tmpdir(), 'pw-storm-'));
    let gh: Handle | undefined;
    const perFault: Array<{ fault: string; tries: number; codes: Record<string, number>; changes: number }> = [];
    let before, after;
    let attempts = 0;
    let firstMessage = '';
    const details: Record<string, unknown> = {};
    const t0 = Date.now();
    try {
      gh = await Handle.open(guest);
      await gh.link.set('lo', { up: true });
      // A default route the attach will replace: each rollback must restore it.
      await gh.link.add({ kind: 'veth', name: 'old0', up: true, peer: { name: 'old1', up: true } });
      await gh.addr.add('old0', '192.0.2.2/24');
      await gh.route.add({ dst: 'default', gateway: '192.0.2.1' });
      await host.h.link.add({ kind: 'bridge', name: 'taken0' });
      const notNs = join(dir, 'not-a-netns');
      writeFileSync(notNs, '');

      // The bridge is created by the attach, so "create bridge" is a step too.
      const base: AttachSpec = { host: host.h, hostIf: 'br0', guest: guest.name!, address: '10.0.0.3/24', gateway: '10.0.0.1', mac: '02:00:00:00:00:03' };
      const plan = await planAttach(base);
      const faults: Fault[] = [
        ...plan.steps.map((step) => ({ what: `fails after "${step}"`, spec: {}, code: step.startsWith('verify') ? 'ERR_PW_VERIFY_FAILED' : 'ERR_PW_ATTACH_FAILED', step })),
        { what: 'guest handle is a plain file', spec: { guest: notNs }, code: 'ERR_PW_NOT_A_NETNS' },
        { what: 'host interface eth9 (not br*) is missing', spec: { hostIf: 'eth9' }, code: 'ERR_PW_LINK_NOT_FOUND' },
        { what: 'host-end name taken0 already taken', spec: { hostEnd: 'taken0' }, code: 'ERR_PW_CONFLICT' },
      ];

      const snap = async () => ({ host: await netState(host.h), guest: await netState(gh!), proc: procState() });
      before = await snap();
      for (const f of faults) {
        const s0 = await snap();
        const codes: Record<string, number> = {};
        let namedStep = true;
        let clean = true;
        if (f.step) setFailpoint(failAt(f.step));
        try {
          for (let i = 0; i < TRIES; i++) {
            attempts++;
            const err = await attach({ ...base, ...f.spec }).then(
              () => null,
              (e: unknown) => e,
            );
            const code = (err as { code?: string } | null)?.code ?? 'attached';
            codes[code] = (codes[code] ?? 0) + 1;
            if (!firstMessage && err) firstMessage = errorText(err);
            if (f.step && !(err instanceof AttachError && err.step === f.step)) namedStep = false;
            if (err instanceof AttachError && (err.leftBehind.length || !/nothing was left behind/.test(err.message))) clean = false;
          }
        } finally {
          setFailpoint(undefined);
        }
        const s1 = await snap();
        const changes = [...diff(s0.host, s1.host), ...diff(s0.guest, s1.guest), ...diff(s0.proc, s1.proc)];
        perFault.push({ fault: f.what, tries: TRIES, codes, changes: changes.length });
        c.equal(codes, { [f.code]: TRIES }, `${f.what}: all ${TRIES} tries fail with ${f.code}`);
        if (f.step) c.ok(namedStep && clean, `${f.what}: each error names the step and says nothing was left behind`);
        c.equal(changes, [], `${f.what}: after ${TRIES} tries the host and guest are exactly as before`);
      }
      after = await snap();
      details.pipewrightMs = Date.now() - t0;
      const ok = await attach(base);
      c.equal(ok.status, 'attached', 'and the same attach, without the fault, then succeeds');
    } finally {
      setFailpoint(undefined);
      await gh?.close();
      await guest.delete();
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const all = [...diff(before.host, after.host), ...diff(before.guest, after.guest), ...diff(before.proc, after.proc)];
    c.equal(all, [], `after all ${attempts} failed attempts: links, addresses, routes, mounts, namespaces and fds unchanged`);
    const t1 = Date.now();
    const old = await oldStorm(OLD_TRIES);
    details.oldWayMs = Date.now() - t1;
    c.ok(old.leftovers > 0, `the old way leaves objects behind when it fails (${old.leftovers} after ${old.tries} tries)`);
    const cb = { ...counts(before.host, before.proc), guestLinks: before.guest.links.length, guestRoutes: before.guest.routes.length };
    const ca = { ...counts(after.host, after.proc), guestLinks: after.guest.links.length, guestRoutes: after.guest.routes.length };
    return {
      name: this.name,
      title: this.title,
      done: [
        `pipewright: \`pipewright br0 GUEST 10.0.0.3/24@10.0.0.1\` as attach(), made to fail after each of its ${perFault.length - 3} planned steps (a failpoint) and by 3 real faults, ${TRIES} times each (${attempts} attempts); host, guest and process state snapshotted around each batch`,
        `old way: pipework's ${old.perStep.length} \`ip\` commands, stopped after each step in turn (as \`set -e\` does on a failure) and retried ${OLD_TRIES} times, each in a fresh host/guest; leftovers counted`,
      ],
      oldWay: {
        summary: `${old.leftovers} objects left behind after ${old.tries} tries; retries then fail on the leftovers ("${old.perStep.find((s) => s.retryError)?.retryError ?? ''}")`,
        tries: old.tries,
        leftovers: old.leftovers,
        stepsLeavingSomething: old.perStep.filter((s) => s.leftovers > 0).length,
      },
      pipewright: {
        summary: `${attempts} failed attempts, ${perFault.reduce((n, f) => n + f.changes, 0)} changes left; before/after: ${Object.entries(cb).map(([k, v]) => `${k} ${v}/${(ca as Record<string, number>)[k]}`).join(', ')}`,
        attempts,
        faults: perFault.length,
        leftovers: all.length,
        ...Object.fromEntries(Object.entries(cb).map(([k, v]) => [`${k}Before`, v])),
        ...Object.fromEntries(Object.entries(ca).map(([k, v]) => [`${k}After`, v])),
      },
      checks: c.list,
      details: { ...details, perFault, oldPerStep: old.perStep, firstError: firstMessage },
    };
  },
};
