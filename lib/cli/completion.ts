// bash and zsh completion scripts, written from the command registry:
// command and subcommand names, each command's options, and for positional
// words what they are (a guest or a named netns: the names in /run/netns; a
// file; a shell). The first word also completes to the host's interfaces,
// pipework's HOSTIF. `pipewright completion bash|zsh` prints them;
// scripts/gen-cli-docs.js writes them into completions/.
import { COMMANDS, CommandSpec, GLOBAL_OPTIONS, OptionSpec, PIPEWORK, commandWords } from './registry';

const words = (opts: readonly OptionSpec[]) => opts.flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]).join(' ');

/** Options completed for a command (its own and --help). */
const optionsOf = (c: CommandSpec) => words([...(c.options ?? []), GLOBAL_OPTIONS[0]!].filter((o, i, all) => all.findIndex((x) => x.name === o.name) === i));

/** Shell words listing the positional candidates of a command, as bash's compgen arguments. */
function bashPositional(c: CommandSpec): string {
  switch (c.completes) {
    case 'guest':
    case 'netns': return '-W "$(ls /run/netns 2>/dev/null)"';
    case 'file': return '-f';
    case 'shell': return '-W "bash zsh"';
    case 'command': return `-W "${commandWords().join(' ')}"`;
    default: return '-W ""';
  }
}

function bashCase(c: CommandSpec, indent: string): string[] {
  return [
    `${indent}opts="${optionsOf(c)}"`,
    `${indent}pos=(${bashPositional(c)})`,
  ];
}

export function bashCompletion(): string {
  const out = [
    '# bash completion for pipewright (generated from its command registry; do not edit)',
    '_pipewright() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" sub="${COMP_WORDS[2]}" opts pos',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W "${commandWords().join(' ')} ${words(GLOBAL_OPTIONS)} ${words(PIPEWORK.options ?? [])} $(ls /sys/class/net 2>/dev/null)" -- "$cur"))`,
    '    return',
    '  fi',
    '  case "$cmd" in',
  ];
  for (const c of COMMANDS) {
    out.push(`    ${[c.name, ...(c.aliases ?? [])].join('|')})`);
    if (c.subcommands) {
      out.push(
        '      if [ "$COMP_CWORD" -eq 2 ]; then',
        `        COMPREPLY=($(compgen -W "${commandWords(c.subcommands).join(' ')} --help -h" -- "$cur"))`,
        '        return',
        '      fi',
        '      case "$sub" in',
      );
      for (const s of c.subcommands) out.push(`        ${[s.name, ...(s.aliases ?? [])].join('|')})`, ...bashCase(s, '          '), '          ;;');
      out.push('        *) return ;;', '      esac');
    } else out.push(...bashCase(c, '      '));
    out.push('      ;;');
  }
  out.push(
    `    *) opts="${optionsOf(PIPEWORK)}"; pos=(-W "$(ls /run/netns 2>/dev/null)") ;;`,
    '  esac',
    '  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen "${pos[@]}" -- "$cur")); fi',
    '}',
    'complete -F _pipewright pipewright',
    '',
  );
  return out.join('\n');
}

/** A zsh _describe entry: 'name:summary', the colon in the name escaped. */
const describe = (name: string, summary: string) => `'${name.replace(/:/g, '\\:')}:${summary.replace(/'/g, "'\\''")}'`;

function zshPositional(c: CommandSpec): string {
  switch (c.completes) {
    case 'guest':
    case 'netns': return 'compadd -- ${(f)"$(ls /run/netns 2>/dev/null)"}';
    case 'file': return '_files';
    case 'shell': return 'compadd -- bash zsh';
    case 'command': return `compadd -- ${commandWords().join(' ')}`;
    default: return 'return 1';
  }
}

function zshCase(c: CommandSpec, indent: string): string[] {
  return [`${indent}opts=(${optionsOf(c)})`, `${indent}pos='${zshPositional(c).replace(/'/g, "'\\''")}'`];
}

export function zshCompletion(): string {
  const out = [
    '#compdef pipewright',
    '# zsh completion for pipewright (generated from its command registry; do not edit)',
    '_pipewright() {',
    '  local cmd=${words[2]} sub=${words[3]} pos',
    '  local -a opts cmds',
    '  if (( CURRENT == 2 )); then',
    `    cmds=(${COMMANDS.map((c) => describe(c.name, c.summary)).join(' ')})`,
    "    _describe 'command' cmds",
    `    compadd -- ${words(GLOBAL_OPTIONS)} ${words(PIPEWORK.options ?? [])} \${(f)"$(ls /sys/class/net 2>/dev/null)"}`,
    '    return',
    '  fi',
    '  case $cmd in',
  ];
  for (const c of COMMANDS) {
    out.push(`    ${[c.name, ...(c.aliases ?? [])].join('|')})`);
    if (c.subcommands) {
      out.push(
        '      if (( CURRENT == 3 )); then',
        `        cmds=(${c.subcommands.map((s) => describe(s.name, s.summary)).join(' ')})`,
        "        _describe 'subcommand' cmds",
        '        return',
        '      fi',
        '      case $sub in',
      );
      for (const s of c.subcommands) out.push(`        ${[s.name, ...(s.aliases ?? [])].join('|')})`, ...zshCase(s, '          '), '          ;;');
      out.push('        *) return 1 ;;', '      esac');
    } else out.push(...zshCase(c, '      '));
    out.push('      ;;');
  }
  out.push(
    `    *) opts=(${optionsOf(PIPEWORK)}); pos='compadd -- \${(f)"$(ls /run/netns 2>/dev/null)"}' ;;`,
    '  esac',
    '  if [[ ${words[CURRENT]} == -* ]]; then compadd -- $opts; else eval "$pos"; fi',
    '}',
    '_pipewright "$@"',
    '',
  );
  return out.join('\n');
}
