// attach()'s admission: at most MAX_ACTIVE_ATTACHES at work, the others in
// order of arrival, and a place given back exactly once.
import t from 'tap';
import { admission, MAX_ACTIVE_ATTACHES } from '../../lib/ops/attach/admission';

const tick = () => new Promise<void>((r) => setImmediate(r));

t.test('the first ones start at once, the rest wait their turn in order', async (t) => {
  const leaves: Array<() => void> = [];
  for (let i = 0; i < MAX_ACTIVE_ATTACHES; i++) leaves.push(await admission());

  const admitted: number[] = [];
  const later = [0, 1, 2].map((i) => admission().then((leave) => (admitted.push(i), leave)));
  await tick();
  t.same(admitted, [], 'nobody past the limit starts');

  leaves[0]!();
  await tick();
  t.same(admitted, [0], 'a leaving attach hands its place to the first waiter');
  leaves[0]!();
  await tick();
  t.same(admitted, [0], 'leaving twice gives back one place only');

  leaves[1]!();
  leaves[2]!();
  await tick();
  t.same(admitted, [0, 1, 2], 'in order of arrival');

  for (const leave of [...leaves.slice(3), ...(await Promise.all(later))]) leave();
  // Every place is free again: a full set starts without waiting.
  const again = await Promise.all(Array.from({ length: MAX_ACTIVE_ATTACHES }, () => admission()));
  let extra = false;
  void admission().then((leave) => {
    extra = true;
    leave();
  });
  await tick();
  t.equal(extra, false, 'and the limit still holds');
  for (const leave of again) leave();
  await tick();
  t.equal(extra, true);
});
