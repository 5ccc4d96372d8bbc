// SVG through Graphviz compiled to WebAssembly (@viz-js/viz, an npm
// package with no native build and no download at run time): the DOT output
// of renderDot, laid out by the real `dot` engine, in-process.
import type { Viz } from '@viz-js/viz';
import type { Topology } from '../topology';
import { renderDot } from './dot';

let viz: Promise<Viz> | undefined;

/** The Graphviz instance, compiled once per process on first use. */
function instance(): Promise<Viz> {
  // Loaded lazily: the WASM module is large and only `show --format svg` needs it.
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  return viz;
}

/** Lays out DOT text as SVG. */
export async function dotToSvg(dot: string): Promise<string> {
  return (await instance()).renderString(dot, { format: 'svg', engine: 'dot' });
}

export async function renderSvg(t: Topology): Promise<string> {
  return dotToSvg(renderDot(t));
}
