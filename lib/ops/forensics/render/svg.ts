// SVG through Graphviz compiled to WebAssembly (@viz-js/viz, an npm
// package with no native build and no download at run time): the DOT output
// of renderDot, laid out by the real `dot` engine, in-process.
import type { Viz } from '@viz-js/viz';
import { PipewrightError } from '../../../core/errors';
import type { Topology } from '../topology';
import { renderDot } from './dot';

let viz: Promise<Viz> | undefined;

/** The Graphviz instance, compiled once per process on first use. */
function instance(): Promise<Viz> {
  // Loaded lazily: the WASM module is large and only `show --format svg` needs it.
  // It is an optional peer dependency (4.9 MB that nothing else uses), so it may be absent.
  viz ??= import('@viz-js/viz').then(
    (m) => m.instance(),
    (err: unknown) => {
      viz = undefined; // installed later in the same process: try again
      throw new PipewrightError(
        'ERR_PW_OPTIONAL_MISSING',
        'SVG output needs the optional package @viz-js/viz, which is not installed: run `npm i @viz-js/viz` where pipewright is installed (`npm i -g @viz-js/viz` for a global install), or use --format dot or text',
        { field: 'format', value: 'svg', cause: err },
      );
    },
  );
  return viz;
}

/** Lays out DOT text as SVG. */
export async function dotToSvg(dot: string): Promise<string> {
  return (await instance()).renderString(dot, { format: 'svg', engine: 'dot' });
}

export async function renderSvg(t: Topology): Promise<string> {
  return dotToSvg(renderDot(t));
}
