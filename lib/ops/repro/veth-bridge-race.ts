// §1 The veth that never joined the bridge. The operator's script (veths
// 10..90, odd ones down and even ones up, enslave, then up) run with real
// iproute2, first alone, then against an agent that — like systemd-networkd
// or a udev rule — undoes a new port within milliseconds of seeing it
// enslaved. pipewright's attach() runs against the same agent. The old way
// ends with broken ports and exit status 0; pipewright must end with every
// port enslaved and up, or name the ones that are not.
import type { Netns } from '../../core/netns';
import { startAgent, RunningAgent } from './agent';
import { Checks, nsPath, privateHost } from './common';
import { countPorts, oldWay, pipewrightWay, silentlyBroken, unaccounted, PORTS, PORT_RE } from './ports';
import { networkdVariant } from './veth-bridge-networkd';
import type { Scenario } from './types';

/** The agent reacts 0-5 ms after it sees a port enslaved: udev/networkd speed. */
const AGENT_DELAY_MS: [number, number] = [0, 5];
/**
 * It acts once on every port: done when it has reported PORTS.length
 * actions. This bounds only a failure (an agent that never gets there);
 * on a busy machine its reactions can lag by seconds.
 */
const AGENT_DONE_MS = 60_000;

async function withAgent<T>(ns: Netns, body: (agent: RunningAgent) => Promise<T>): Promise<{ value: T; agent: RunningAgent; finished: boolean }> {
  const agent = await startAgent({ nsPath: nsPath(ns), match: PORT_RE, minDelayMs: AGENT_DELAY_MS[0], maxDelayMs: AGENT_DELAY_MS[1], action: 'alternate' });
  try {
    const value = await body(agent);
    // Count only once it has finished what it saw.
    const finished = await agent.acted(PORTS.length, AGENT_DONE_MS);
    return { value, agent, finished };
  } finally {
    await agent.stop();
  }
}

export const vethBridgeRace: Scenario = {
  name: 'veth-bridge-race',
  title: 'The veth that never joined the bridge (pipework on CoreOS)',
  section: 1,
  async run() {
    const c = new Checks();
    const done: string[] = [];
    const details: Record<string, unknown> = {};
    const t0 = Date.now();
    const timings: Record<string, number> = {};
    const lap = (what: string) => (timings[what] = Date.now() - t0);

    // 1. The script alone, as the operator ran it.
    const alone = await privateHost();
    let plain;
    try {
      const r = await oldWay(alone.ns);
      c.equal(r.code, 0, 'the old-way script runs (exit 0) without an agent');
      plain = await countPorts(alone.h);
      if (r.stderr.trim()) details.oldWayStderr = r.stderr.trim().split('\n').slice(0, 5);
    } finally {
      await alone.close();
    }
    lap('oldAlone');
    done.push(`old way: the operator's script with real \`ip\` — br0, veths 10..90, odd ones down and even ones up, then for each \`ip link set X master br0 || brctl addif\` followed by \`ip link set X up\`; counted ports enslaved and up`);

    // 2. The same script against the agent.
    const hostA = await privateHost();
    let underAgent, scriptExit, oldActions;
    try {
      const { value, agent, finished } = await withAgent(hostA.ns, () => oldWay(hostA.ns));
      c.ok(finished, `the agent acted on all ${PORTS.length} of the old way's ports (within ${AGENT_DONE_MS / 1000} s)`);
      scriptExit = value.code;
      oldActions = agent.events.length;
      underAgent = await countPorts(hostA.h);
      details.agentOnOldWay = summarizeAgent(agent);
    } finally {
      await hostA.close();
    }
    lap('oldAgent');
    done.push(`old way again, with a simulated agent (a separate process watching link events) that, ${AGENT_DELAY_MS[0]}-${AGENT_DELAY_MS[1]} ms after first seeing a veth enslaved, releases it from br0 or sets it down (alternately), once per link`);

    // 3. pipewright against the same agent.
    const hostB = await privateHost();
    const guests: Netns[] = [];
    let pw, pwAfter, pwActions;
    try {
      await hostB.h.link.add({ kind: 'bridge', name: 'br0', up: true });
      // The watches last until the agent has acted on every port.
      const { value, agent, finished } = await withAgent(hostB.ns, (a) => pipewrightWay(hostB.h, guests, async () => void (await a.acted(PORTS.length, AGENT_DONE_MS))));
      c.ok(finished, `the agent acted on all ${PORTS.length} of pipewright's ports while they were watched`);
      details.watchedMs = value.watchedMs;
      pw = value;
      pwActions = agent.events.length;
      pwAfter = await countPorts(hostB.h);
      details.agentOnPipewright = summarizeAgent(agent);
      if (pw.failed.length) details.pipewrightFailures = pw.failed;
    } finally {
      for (const g of guests) await g.close();
      await hostB.close();
    }
    lap('pipewrightAgent');
    done.push(`pipewright: attach() for one guest namespace per port (81 at once) — veth created UP and enslaved in one request, read back, then watched with repair until the agent had acted on every port (${details.watchedMs} ms here) — against the same agent; then every port read back`);

    const n = PORTS.length;
    c.ok(oldActions > 0 && underAgent.enslaved < n, `the old way ends with un-enslaved ports under the agent (${n - underAgent.enslaved} of ${n})`);
    c.equal(scriptExit, 0, 'and its script still exits 0: nothing tells the operator');
    c.ok(pwActions > 0, `the agent did act on pipewright's ports too (${pwActions} actions)`);
    const silent = silentlyBroken(pw, pwAfter);
    c.equal(silent, [], 'pipewright never reports success for a port that is not enslaved and up');
    c.ok(pw.failed.every((f) => f.message.includes(f.port)), 'every port pipewright could not attach is named in its error');
    const lost = unaccounted(pw, pwAfter);
    c.equal(lost, [], 'every port is enslaved and up, or reported as failed');

    const nd = await networkdVariant();
    c.list.push(...nd.checks);
    done.push(...nd.done);
    details.networkd = nd.details;
    lap('networkd');
    details.timingsMs = timings;

    return {
      name: this.name,
      title: this.title,
      done,
      oldWay: {
        summary: `${plain.good}/${n} ports enslaved and up alone; under the agent ${underAgent.enslaved}/${n} enslaved, ${underAgent.up}/${n} up (${underAgent.good} both) — script exit ${scriptExit}${nd.oldSummary ? `; ${nd.oldSummary}` : ''}`,
        ports: n,
        aloneEnslaved: plain.enslaved,
        aloneUp: plain.up,
        agentEnslaved: underAgent.enslaved,
        agentUp: underAgent.up,
        agentNotEnslaved: n - underAgent.enslaved,
        agentActions: oldActions,
        scriptExit,
        ...nd.oldNumbers,
      },
      pipewright: {
        summary: `under the agent ${pwAfter.enslaved}/${n} enslaved, ${pwAfter.up}/${n} up after ${pw.repairs} repairs (${pw.incidents} incidents seen); ${pw.failed.length} reported failed, ${silent.length} silently broken${nd.pwSummary ? `; ${nd.pwSummary}` : ''}`,
        ports: n,
        attached: pw.attached,
        reportedFailed: pw.failed.length,
        agentEnslaved: pwAfter.enslaved,
        agentUp: pwAfter.up,
        incidents: pw.incidents,
        repairs: pw.repairs,
        silentlyBroken: silent.length,
        unaccounted: lost.length,
        agentActions: pwActions,
        ...nd.pwNumbers,
      },
      checks: c.list,
      ...(nd.skipped ? { skipped: [nd.skipped] } : {}),
      details,
    };
  },
};

function summarizeAgent(agent: RunningAgent): Record<string, number> {
  const by = (d: string) => agent.events.filter((e) => e.did === d && !e.error).length;
  return { released: by('release'), setDown: by('down'), failed: agent.events.filter((e) => e.error).length };
}
