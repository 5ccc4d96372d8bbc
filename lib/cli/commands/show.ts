// `pipewright show [--format table|json|dot|mermaid|svg] [--netns ID,...]`:
// the topology, as text, JSON, Graphviz, Mermaid, or an SVG laid out by
// Graphviz compiled to WebAssembly (@viz-js/viz).
import { printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import type { CommandContext } from '../registry';
import { invalidArgument } from '../../core/errors';
import { topology } from '../../ops/forensics/topology';
import { renderDot, renderMermaid, renderSvg, renderTable } from '../../ops/forensics';

const FORMATS = ['table', 'json', 'dot', 'mermaid', 'svg'];

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json') || args.includes('--format=json');
  try {
    const format = a.flags.has('json') ? 'json' : a.options.get('format') ?? 'table';
    if (!FORMATS.includes(format)) throw invalidArgument('--format', format, `must be one of ${FORMATS.join(', ')}`);
    const ids = a.options.get('netns');
    const t = await topology(ids !== undefined ? { namespaces: ids.split(',') } : {});
    if (format === 'json') printJson(io, t);
    else if (format === 'dot') io.stdout.write(renderDot(t));
    else if (format === 'mermaid') io.stdout.write(renderMermaid(t));
    else if (format === 'svg') io.stdout.write(await renderSvg(t));
    else io.stdout.write(renderTable(t));
    return EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
