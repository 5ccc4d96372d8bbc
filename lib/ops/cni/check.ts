// CHECK: the attachment prevResult describes, read back from the kernel — the
// container interface and its peer, the port on the bridge, addresses,
// routes, MACs — then the IPAM plugin's own CHECK. Any difference fails
// with one sentence per problem.
import { Handle } from '../../core/handle';
import type { NetConf } from './config';
import type { CniEnv } from './env';
import { CniError, PW_ERR, badConfig } from './errors';
import { runIpam } from './ipam';
import { openContainerNetns } from './container-netns';
import { hostEndName } from './names';
import { inspectAttachment } from './inspect';
import { lockContainer } from './store';

export async function cmdCheck(conf: NetConf, env: CniEnv): Promise<void> {
  const prev = conf.prevResult;
  if (!prev) throw badConfig('prevResult', undefined, 'is required for CHECK (the result of the ADD being checked)');
  const ifname = env.ifname!;
  const netnsPath = env.netns!;
  if (!prev.interfaces.some((i) => i.name === ifname && i.sandbox === netnsPath))
    throw new CniError(PW_ERR.VERIFY_FAILED, `CHECK failed: prevResult lists no interface ${ifname} in sandbox ${netnsPath}`);
  const lock = await lockContainer(env.containerId!);
  try {
    const ns = await openContainerNetns(netnsPath);
    const host = await Handle.open();
    try {
      const gh = await Handle.open(ns);
      try {
        const problems = await inspectAttachment(host, gh, { bridge: conf.bridge, hostEnd: hostEndName(conf.name, env.containerId!, ifname), ifname, netns: netnsPath, result: prev });
        if (problems.length) throw new CniError(PW_ERR.VERIFY_FAILED, `CHECK failed: ${problems.join('; ')}`);
      } finally {
        await gh.close();
      }
    } finally {
      await host.close();
      await ns.close();
    }
    if (conf.ipam) await runIpam(conf.ipam.type, 'CHECK', conf.raw, env.raw, env.path);
  } finally {
    await lock.unlock();
  }
}
