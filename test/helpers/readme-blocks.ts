// The README's code blocks, each with the marker comment on the line before
// its fence that says how it is tested:
//   <!-- example: sh; setup: CMD -->   each command line is run, in order, in a
//                                      fresh sandbox after CMD; it must exit 0,
//                                      or with a code its own comment names
//                                      ("exit 5 when ..."); a comment saying
//                                      "prints nothing" means no output at
//                                      all (stdout and stderr), "prints
//                                      WHAT" some output
//   <!-- example: esm+ts -->           run as an .mjs file, and compiled by
//                                      `tsc --strict` as an .mts file
//   <!-- not-run: WHY -->              not an example (says which test covers it)
// A block without a marker is an error, so a new example cannot go untested.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Block {
  kind: 'sh' | 'esm+ts' | 'not-run';
  /** The fence's language tag. */
  lang: string;
  code: string;
  setup?: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

export const README = join(__dirname, '..', '..', 'README.md');

const MARKER = /^<!--\s*(example:\s*(sh|esm\+ts)(?:;\s*setup:\s*(.*?))?|not-run:\s*\S.*?)\s*-->$/;

/** Every fenced block of the markdown text, with its marker; throws naming a block that has none. */
export function readmeBlocks(text = readFileSync(README, 'utf8')): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`README.md:${i + 1}: unterminated code block`);
    const marker = MARKER.exec((lines[i - 1] ?? '').trim());
    if (!marker) throw new Error(`README.md:${i + 1}: a code block without a marker on the line before (<!-- example: sh|esm+ts --> or <!-- not-run: why -->)`);
    const code = lines.slice(i + 1, end).join('\n') + '\n';
    if (marker[2] === 'sh' || marker[2] === 'esm+ts') {
      blocks.push({ kind: marker[2], lang: open[1]!, code, line: i + 1, ...(marker[3] ? { setup: marker[3] } : {}) });
    } else {
      blocks.push({ kind: 'not-run', lang: open[1]!, code, line: i + 1 });
    }
    i = end;
  }
  return blocks;
}

export interface ShellCommand {
  command: string;
  allowed: number[];
  /** What its comment says it prints: nothing, something, or (no claim) undefined. */
  prints?: 'nothing' | 'something';
}

/** A shell block's commands: each line, its trailing comment removed, with the exit codes and output that comment promises. */
export function shellCommands(code: string): ShellCommand[] {
  const out: ShellCommand[] = [];
  for (const raw of code.split('\n')) {
    // A comment is a '#' after whitespace; the commands here quote no '#'.
    const m = /^(.*?)(?:\s+#\s*(.*))?$/.exec(raw);
    const command = (m?.[1] ?? '').trim();
    if (command === '' || command.startsWith('#')) continue;
    const allowed = [0];
    for (const e of (m?.[2] ?? '').matchAll(/\bexit (\d+)\b/g)) allowed.push(Number(e[1]));
    const comment = m?.[2] ?? '';
    const prints = /\bprints nothing\b/.test(comment) ? 'nothing' : /\bprints\b/.test(comment) ? 'something' : undefined;
    out.push({ command, allowed, ...(prints ? { prints } : {}) });
  }
  return out;
}
