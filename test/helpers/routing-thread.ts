// Probes of the routing thread (pw-net) for scripts run in a process of
// their own, where nothing of tap's runs on the event loop: JS source that
// defines routingThread() (its thread id, once a request has started it)
// and asleep(tid) (waits, reading the thread's state again each
// millisecond, until it is blocked in a futex wait; gives up after 5000
// reads and says so).
export const ROUTING_THREAD_PROBES = `
  const fs = require('node:fs');
  const routingThread = () => fs.readdirSync('/proc/self/task').find((tid) => {
    try { return fs.readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim() === 'pw-net'; } catch { return false; }
  });
  const asleep = async (tid) => {
    for (let i = 0; i < 5000; i++) {
      const call = fs.readFileSync('/proc/self/task/' + tid + '/syscall', 'utf8').split(' ')[0];
      const state = fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').replace(/^.*\\) /, '')[0];
      if (call === '202' && state === 'S') return { reads: i + 1 };
      await new Promise((r) => setTimeout(r, 1));
    }
    return { reads: 5000, stuck: true };
  };`;
