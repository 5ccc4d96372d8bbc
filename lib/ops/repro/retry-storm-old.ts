// §5 the old way: pipework's own command sequence with real iproute2,
// failing after step K (as `set -e` stops it when a command fails), then
// retried as an orchestrator would. Nothing undoes the steps that ran, and
// pipework names the host end after the guest, so each retry trips over the
// previous leftovers ("File exists") and the failure becomes permanent.
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { privateHost, script, uniqueName } from './common';
import { diff, netState, NetState } from './state';

// pipework's order for `pipework br0 -i eth1 GUEST 10.0.0.3/24@10.0.0.1`
// (the bridge is created only when missing, as pipework checks /sys/class/net).
export const PIPEWORK_STEPS = [
  'ip link show br0 >/dev/null 2>&1 || { ip link add br0 type bridge && ip link set br0 up; }',
  'ip link add $LOCAL mtu 1500 type veth peer name $GUESTIF mtu 1500',
  'ip link set $LOCAL master br0',
  'ip link set $LOCAL up',
  'ip link set $GUESTIF netns $NS',
  'ip -n $NS link set $GUESTIF name eth1',
  'ip -n $NS addr add 10.0.0.3/24 dev eth1',
  'ip -n $NS link set eth1 up',
  'ip -n $NS route replace default via 10.0.0.1',
];

// One attempt runs the steps in order and stops at the first failure (rc 1)
// or, as the injected fault, right after step FAIL_AFTER (rc 2).
const SCRIPT = `NS=$1; FAIL_AFTER=$2; TRIES=$3; shift 3; STEPS=("$@")
LOCAL=veth1pl$NS; LOCAL=\${LOCAL:0:15}; GUESTIF=vethg1pl$NS; GUESTIF=\${GUESTIF:0:15}
attempt() {
  k=0
  for s in "\${STEPS[@]}"; do
    eval "$s" || return 1
    k=$((k+1)); [ $k -ge $FAIL_AFTER ] && return 2
  done
  return 0
}
for t in $(seq 1 $TRIES); do
  err=$(attempt 2>&1 >/dev/null); rc=$?
  echo "try=$t rc=$rc err=$(printf '%s' "$err" | head -n1)"
done`;

export interface OldStorm {
  /** Per step: leftover objects (host + guest) after the tries, and the error the retries got. */
  perStep: Array<{ step: string; leftovers: number; retryError: string }>;
  leftovers: number;
  tries: number;
}

/** Fails after each step in turn, `tries` times, each in a fresh host and guest. */
export async function oldStorm(tries: number): Promise<OldStorm> {
  const out: OldStorm = { perStep: [], leftovers: 0, tries: 0 };
  for (const [i, step] of PIPEWORK_STEPS.entries()) {
    const host = await privateHost();
    // Named, so `ip -n` reaches it, as `ip netns exec $NSPID` does for pipework.
    const guest = await Netns.create({ name: uniqueName('pwst') });
    try {
      const gh = await Handle.open(guest);
      try {
        const before: [NetState, NetState] = [await netState(host.h), await netState(gh)];
        const r = await script(host.ns, SCRIPT, [guest.name!, String(i + 1), String(tries), ...PIPEWORK_STEPS], 20_000);
        const after: [NetState, NetState] = [await netState(host.h), await netState(gh)];
        const left = [...diff(before[0], after[0]), ...diff(before[1], after[1])].filter((l) => l.includes(': +'));
        const retryError = /try=2 rc=\d+ err=(.*)/.exec(r.stdout)?.[1] ?? '';
        out.perStep.push({ step, leftovers: left.length, retryError });
        out.leftovers += left.length;
        out.tries += tries;
      } finally {
        await gh.close();
      }
    } finally {
      await guest.delete();
      await host.close();
    }
  }
  return out;
}
