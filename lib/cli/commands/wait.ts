// `pipewright --wait [-i IF] [--timeout MS]`, run inside a container (as
// pipework's is): returns once IF exists in the current namespace and has
// carrier. Link events, not polling: subscribe first, then look at the
// current state, then wait, so a change between the two cannot be missed.
import type { Link } from '../../core/types';
import type { Parsed } from '../pipework-args';
import { Io, line, printJson } from '../report';
import { EXIT } from '../exit-codes';
import { PipewrightError } from '../../core/errors';
import { Handle } from '../../core/handle';

export type WaitParsed = Extract<Parsed, { kind: 'wait' }>;

/** Carrier, as the kernel reports it for a running device. */
function hasCarrier(l: Link): boolean {
  return l.up && (l.lowerUp || l.operstate === 'up');
}

export async function runWait(p: WaitParsed, io: Io): Promise<number> {
  const started = Date.now();
  const h = await Handle.open();
  const w = h.watch(['link']);
  try {
    await w.ready;
    let link = await h.link.find(p.guestIf);
    if (!link || !hasCarrier(link)) {
      if (!p.json) line(io.stderr, `pipewright: waiting up to ${p.timeoutMs} ms for ${p.guestIf} to exist and have carrier`);
      for (;;) {
        const left = p.timeoutMs - (Date.now() - started);
        const ev = left <= 0 ? null : await w.waitFor((e) => e.kind === 'overrun' || (e.kind === 'link' && (e.link.name === p.guestIf || e.link.index === link?.index)), left, { keepOpen: true }).catch((e: unknown) => {
          if ((e as { code?: string }).code === 'ERR_PW_TIMEOUT') return null;
          throw e;
        });
        if (!ev) {
          const state = link ? `it exists (index ${link.index}) but has no carrier${link.up ? '' : ' (it is down)'}` : 'it does not exist';
          throw new PipewrightError('ERR_PW_TIMEOUT', `timed out after ${p.timeoutMs} ms waiting for ${p.guestIf} to exist and have carrier: ${state}`);
        }
        // Re-read rather than trust the event when the kernel dropped events, or for a
        // 'del', which also reports a port leaving a bridge (the link itself stays).
        if (ev.kind === 'overrun' || (ev.kind === 'link' && ev.action === 'del')) link = await h.link.find(p.guestIf);
        else if (ev.kind === 'link') link = ev.link.name === p.guestIf ? ev.link : null;
        if (link && hasCarrier(link)) break;
      }
    }
    if (p.json) printJson(io, { interface: link.name, index: link.index, waitedMs: Date.now() - started });
    return EXIT.OK;
  } finally {
    await w.close();
    await h.close();
  }
}
