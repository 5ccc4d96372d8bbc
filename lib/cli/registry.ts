// Every command of the pipewright CLI, in one table: its name, what it does,
// its usage lines, its options and the module that runs it. The dispatcher
// (main.ts), the help text (help.ts), the man page and the shell completions
// (man.ts, completion.ts), and launch.ts's choice of code cache all read it;
// a command exists once it is written here. Plain data: loading this file
// loads nothing else (each command's module is imported when it runs).
import type { Io } from './report';
import type { ParsedArgs } from './options';
import { PIPEWORK_OPTIONS, help, json, quiet, verbose } from './pipework-options';

export interface OptionSpec {
  /** Long name without dashes: 'dry-run' is --dry-run. */
  name: string;
  /** One-letter form without the dash ('i' is -i). */
  short?: string;
  /** The value's placeholder ('MS', 'NAME'); none for a flag. */
  value?: string;
  summary: string;
}

/** What a command's module gets: its arguments (parsed against its options, unless it reads them itself) and where to write. */
export interface CommandContext {
  /** The words after the command's name. */
  argv: readonly string[];
  /** argv parsed against the command's options; empty for a command that reads its own arguments. */
  args: ParsedArgs;
  io: Io;
}

export interface CommandModule {
  run(ctx: CommandContext): Promise<number>;
}

export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  summary: string;
  /** Usage lines, each after 'pipewright '. */
  usage: readonly string[];
  /** More about it, for its help and the man page. */
  details?: string;
  options?: readonly OptionSpec[];
  /**
   * How many positional arguments, checked with the options before the
   * command runs. Absent: the command reads its own arguments (pipework's
   * grammar, ip route's and tc's words), options included.
   */
  positional?: readonly [number, number];
  /** What the positional arguments are, for completion. */
  completes?: 'guest' | 'netns' | 'file' | 'command' | 'shell';
  subcommands?: readonly CommandSpec[];
  load?: () => Promise<CommandModule>;
}

const netnsFilter: OptionSpec = { name: 'netns', value: 'NAME|PATH', summary: 'look only at this network namespace' };

/** Options every command takes besides its own. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [help, { name: 'version', short: 'V', summary: 'print the version' }];

const GUEST = 'a container name or ID (Docker/Podman API), a named netns, a PID, an nsfs path, or netns:NAME, pid:N, path:P, docker:NAME';

/** pipework's positional command line, the default command: what runs when the first word is not a command's name. */
export const PIPEWORK: CommandSpec = {
  name: 'pipework',
  summary: "pipework's command line (the default): attach GUEST to HOSTIF",
  usage: [
    '[--direct-phys] HOSTIF|mac:HOSTMAC [-i GUESTIF] [-l LOCALIF] [-a 4|6] GUEST IP/PREFIX[@GW]|0/0 [MAC|U:SEED][@VLAN]',
    'HOSTIF|mac:HOSTMAC [-i GUESTIF] [-l LOCALIF] GUEST dhcp|udhcpc|dhclient|dhcpcd[-f][:OPTS] [MAC|U:SEED][@VLAN]',
    '--wait [-i GUESTIF] [--timeout MS]',
  ],
  details:
    'A first word that is not a command is HOSTIF. A word that is close to a command name (helpp, atach) and is not followed by GUEST and an address is reported as an unknown command, with the closest command; followed by them, it is a host interface, as in pipework.',
  options: PIPEWORK_OPTIONS,
  load: () => import('./commands/pipework'),
};

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'attach',
    summary: 'attach a guest to a host interface (the named-option form of the pipework command line)',
    usage: ['attach --host-if HOSTIF --guest GUEST [--address IP/PREFIX] [--gateway GW] [OPTIONS]'],
    details: `HOSTIF is a bridge (created when missing and named br*), another device (a macvlan on it), or mac:HOSTMAC. GUEST is ${GUEST}.`,
    positional: [0, 0],
    completes: 'guest',
    options: [
      { name: 'host-if', value: 'NAME', summary: 'the host interface (required)' },
      { name: 'guest', value: 'GUEST', summary: 'the guest (required)' },
      { name: 'guest-if', short: 'i', value: 'NAME', summary: 'interface name inside the guest (default eth1)' },
      { name: 'host-end', short: 'l', value: 'NAME', summary: 'name of the host end of the veth (default v<guest-if>pl<pid>)' },
      { name: 'address', value: 'CIDR', summary: 'IP/PREFIX (or IP/PREFIX@GW); omit (or 0/0) for no address' },
      { name: 'gateway', value: 'IP', summary: 'default route via this gateway' },
      { name: 'family', short: 'a', value: '4|6', summary: 'require the address to be of this family' },
      { name: 'mac', value: 'MAC', summary: 'MAC of the guest interface, or U:SEED' },
      { name: 'vlan', value: 'N', summary: 'attach to HOSTIF.N (created when missing)' },
      { name: 'direct-phys', summary: 'move the host device itself into the guest' },
      { name: 'mtu', value: 'N', summary: "MTU (default: the host interface's)" },
      { name: 'dhcp', value: 'CLIENT', summary: 'dhcp|udhcpc|dhclient|dhcpcd[-f][:OPTS]: get the address by DHCP' },
      { name: 'timeout', value: 'MS', summary: 'how long to wait for the DHCP lease' },
      { name: 'no-arp', summary: 'do not send the gratuitous ARP' },
      { name: 'ipv6-link-local', summary: "keep an IPv4-only guest interface's IPv6 link-local address (by default it makes none)" },
      { name: 'owner', value: 'NAME', summary: 'ownership tag in the host end ifalias' },
      { name: 'dry-run', summary: 'print the plan and its undo plan; change nothing' },
      { name: 'watch', value: 'MS', summary: 'watch the host end this long after attaching' },
      { name: 'repair', summary: 'with --watch: put the port back when something undoes it' },
      json, verbose, quiet,
    ],
    load: () => import('./commands/attach'),
  },
  {
    name: 'detach',
    summary: 'remove an interface attach made (a veth goes with its host end)',
    usage: ['detach GUEST [-i GUESTIF] [--force]', 'detach --guest GUEST [--guest-if GUESTIF] [--force]'],
    details: "One pipewright did not make is refused (exit 6) unless --force; one already gone is 'nothing attached' (exit 0).",
    positional: [0, 1],
    completes: 'guest',
    options: [
      { name: 'guest', value: 'GUEST', summary: 'the guest, as a named option' },
      { name: 'guest-if', short: 'i', value: 'NAME', summary: 'interface inside the guest (default eth1)' },
      { name: 'force', summary: 'remove the interface even if it carries no pipewright mark and no journal entry records it' },
      json, verbose, quiet,
    ],
    load: () => import('./commands/detach'),
  },
  {
    name: 'route',
    summary: "add, delete, replace or show routes inside a guest (ip route's syntax)",
    usage: ['route GUEST [-4|-6] add|del|replace|show [default|PREFIX] [via GW] [dev IF] [table N] [metric N] [src A] [scope S] [proto P] [onlink] [mtu N]'],
    completes: 'guest',
    options: [json],
    load: () => import('./commands/route'),
  },
  {
    name: 'rule',
    summary: "add, delete or show policy routing rules inside a guest (ip rule's syntax)",
    usage: ['rule GUEST [-4|-6] add|del|show [from P] [to P] [lookup N] [priority N] [iif X] [oif X] [fwmark N] [blackhole|unreachable|prohibit]'],
    completes: 'guest',
    options: [json],
    load: () => import('./commands/rule'),
  },
  {
    name: 'tc',
    summary: "run tc inside a guest's network namespace (its exit code is passed through)",
    usage: ['tc GUEST TC-ARGS...'],
    details: 'Every word after GUEST is tc\'s, e.g. pipewright tc web qdisc add dev eth1 root netem delay 100ms.',
    completes: 'guest',
    load: () => import('./commands/tc'),
  },
  {
    name: 'batch',
    summary: 'many attaches in one run: pipework lines, or a JSON array of specs',
    usage: ['batch FILE|- [--json] [--concurrency N] [--create-netns]'],
    details: "FILE holds pipework lines (one attach each, '#' comments) or a JSON array of attach specs (the command line's fields: hostIf, guest, guestIf, address, ...). Every line is checked before the first attach runs; each attach is rolled back alone.",
    positional: [1, 1],
    completes: 'file',
    options: [
      { name: 'concurrency', value: 'N', summary: 'attaches run at once' },
      { name: 'create-netns', summary: 'make guests named NAME or netns:NAME that do not exist yet' },
      json,
    ],
    load: () => import('./commands/batch'),
  },
  {
    name: 'bridge',
    summary: 'a bridge as declared: created when missing (up, marked as pipewright\'s), with its gateway address',
    usage: ['bridge NAME [--address CIDR] [--mtu N] [--stp on|off] [--owner NAME] [--dry-run] [--json]'],
    details: "Idempotent: run again, it changes nothing. A bridge pipewright made is adjusted in place (MTU, up, STP, the address it set); anyone else's is used as it is, or refused (exit 6) when it differs from what is declared.",
    positional: [1, 1],
    options: [
      { name: 'address', value: 'CIDR', summary: "the bridge's own address (the guests' gateway), e.g. 172.16.1.1/16" },
      { name: 'mtu', value: 'N', summary: 'MTU of the bridge' },
      { name: 'stp', value: 'on|off', summary: 'spanning tree on or off' },
      { name: 'owner', value: 'NAME', summary: "ownership tag in the bridge's ifalias (default pipewright)" },
      { name: 'dry-run', summary: 'print the plan; change nothing' },
      json, verbose, quiet,
    ],
    load: () => import('./commands/bridge'),
  },
  {
    name: 'overlay',
    summary: 'a VXLAN overlay as declared: the device on its bridge, its flood list exactly the peers; or show or delete one',
    usage: [
      'overlay NAME --vni N --dev IF --local IP --peers IP[,IP...] [--port N] [--bridge BR] [--mtu N] [--fix-mtu] [--owner NAME] [--dry-run] [--json]',
      'overlay NAME --show [--json]',
      'overlay NAME --delete [--owner NAME] [--dry-run] [--json]',
    ],
    details: "Learning is off; the flood list (all-zeros FDB entries) is made exactly --peers in one batch: missing peers added, stale ones removed. --peers '' floods to nobody. A port of the bridge with a larger MTU than the overlay's is refused (exit 6) unless --fix-mtu lowers it. Only an overlay pipewright made is changed or deleted.",
    positional: [1, 1],
    options: [
      { name: 'vni', value: 'N', summary: 'VXLAN network identifier, 1-16777215' },
      { name: 'dev', value: 'IF', summary: 'the underlay device' },
      { name: 'local', value: 'IP', summary: "this host's VTEP address" },
      { name: 'peers', value: 'IP[,IP...]', summary: 'the remote VTEPs to flood to (exactly these)' },
      { name: 'port', value: 'N', summary: 'UDP destination port (default 4789)' },
      { name: 'bridge', value: 'BR', summary: 'enslave the overlay to this bridge' },
      { name: 'mtu', value: 'N', summary: "MTU of the overlay (default: the underlay's less the VXLAN overhead)" },
      { name: 'fix-mtu', summary: "lower the bridge's ports to the overlay's MTU instead of refusing" },
      { name: 'show', summary: 'print the overlay: its settings, flood list and owner' },
      { name: 'delete', summary: 'delete the overlay (only one pipewright made)' },
      { name: 'owner', value: 'NAME', summary: "ownership tag in the device's ifalias (default pipewright)" },
      { name: 'dry-run', summary: 'print the plan; change nothing' },
      json, verbose, quiet,
    ],
    load: () => import('./commands/overlay'),
  },
  {
    name: 'apply',
    summary: "a host's topology from a YAML or JSON file (bridges, overlays, guests), as one plan with one undo",
    usage: ['apply FILE|- [--create-netns] [--dry-run] [--json]'],
    details: "Either all of it exists afterwards, read back, or none of what this apply did. Re-applying a changed file converges: what is new is added, what this topology made and the file no longer names is removed (and said so on stderr unless -q). --dry-run (or -v) prints the plan.",
    positional: [1, 1],
    completes: 'file',
    options: [
      { name: 'create-netns', summary: 'make guests named NAME or netns:NAME that do not exist yet' },
      { name: 'dry-run', summary: 'print the plan; change nothing' },
      json, verbose, quiet,
    ],
    load: () => import('./commands/apply'),
  },
  {
    name: 'find-ip',
    summary: 'which namespace holds an address (or a MAC, or an interface name)',
    usage: ['find-ip ADDR [--json]', 'find-ip --mac MAC [--json]', 'find-ip --ifname NAME [--json]'],
    details: 'Exit 0 when found once, 6 when found in several namespaces, 3 when nowhere.',
    positional: [1, 1],
    options: [
      { name: 'mac', summary: 'the argument is a MAC address' },
      { name: 'ifname', summary: 'the argument is an interface name' },
      json,
    ],
    load: () => import('./commands/find-ip'),
  },
  {
    name: 'doctor',
    summary: 'check for the failures that bite (exit 5 when something is found)',
    usage: ['doctor [--netns NAME|PATH] [--only ID,...] [--json]'],
    positional: [0, 0],
    options: [netnsFilter, { name: 'only', value: 'ID,...', summary: 'run only these checks' }, json],
    load: () => import('./commands/doctor'),
  },
  {
    name: 'gc',
    summary: 'remove leaked pipewright-owned links and roll back crashed attaches',
    usage: ['gc [--owner NAME] [--netns NAME|PATH] [--dry-run] [--complete] [--json]'],
    details: 'Crashed attaches are found in the journal; --complete runs each of them again after its rollback. Guest namespaces kept only by stray mounts are released. Exit 4 when something could not be removed.',
    positional: [0, 0],
    options: [
      { name: 'owner', value: 'NAME', summary: 'only links with this ownership tag' },
      netnsFilter,
      { name: 'dry-run', summary: 'list what would be removed; change nothing' },
      { name: 'complete', summary: 'run the rolled-back attaches again' },
      json,
    ],
    load: () => import('./commands/gc'),
  },
  {
    name: 'show',
    summary: 'the topology: namespaces, links, bridges, addresses',
    usage: ['show [--format table|json|dot|mermaid|svg] [--netns ID,...]'],
    positional: [0, 0],
    options: [
      { name: 'format', value: 'table|json|dot|mermaid|svg', summary: 'output format (svg needs @viz-js/viz)' },
      { name: 'netns', value: 'ID,...', summary: 'only these namespaces' },
      json,
    ],
    load: () => import('./commands/show'),
  },
  {
    name: 'netns',
    summary: 'network namespaces: list them, what holds one, delete one for real',
    usage: ['netns ls|holders|delete ...'],
    completes: 'command',
    subcommands: [
      {
        name: 'ls',
        aliases: ['list'],
        summary: 'every network namespace on the host, who holds it, its addresses',
        usage: ['netns ls [--all] [--json]'],
        positional: [0, 0],
        options: [{ name: 'all', summary: 'also orphans kept only by fds or mounts' }, json],
        load: () => import('./commands/netns-ls'),
      },
      {
        name: 'holders',
        summary: 'what keeps one namespace alive, and what would release it',
        usage: ['netns holders NAME|PATH|INODE [--json]'],
        positional: [1, 1],
        completes: 'netns',
        options: [json],
        load: () => import('./commands/netns-holders'),
      },
      {
        name: 'delete',
        aliases: ['del'],
        summary: 'remove a name and wait until the namespace is really gone',
        usage: ['netns delete NAME [--timeout MS] [--json]'],
        details: 'Exit 0 once the namespace is gone; 4 naming what still holds it.',
        positional: [1, 1],
        completes: 'netns',
        options: [{ name: 'timeout', value: 'MS', summary: 'how long to wait for it to go' }, json],
        load: () => import('./commands/netns-delete'),
      },
    ],
  },
  {
    name: 'repro',
    summary: 'replay the field failures the old way and with pipewright (in a sandbox)',
    usage: ['repro [--json] [NAME...]'],
    positional: [0, 10],
    options: [json],
    load: () => import('./commands/repro'),
  },
  {
    name: 'engine',
    summary: 'the resident engine: serve pipewright commands on a socket and keep attachments repaired',
    usage: ['engine [--socket PATH] [--socket-mode MODE] [--allow-uid UID,...] [--no-reconcile]', 'engine status [--socket PATH] [--json]', 'engine client [--json]'],
    details:
      'Runs until SIGTERM or SIGINT, one engine per state directory and network namespace, on PW_STATE_DIR/engine/socket (default /run/pipewright/engine/socket, mode 0600). Only root peers are served (SO_PEERCRED), in the engine\'s own network and mount namespaces. It follows every complete bridge attachment in the journal: a port released or set down is put back, a renamed one renamed back when its name is free, a guest namespace that dies has its journal entry removed. pipewright-fast, the native client (its path: pipewright engine client), sends commands to it and runs the Node CLI when no engine answers. Under systemd it takes the socket from socket activation.',
    positional: [0, 1],
    options: [
      { name: 'socket', value: 'PATH', summary: 'the socket to listen on (or, with status, to ask)' },
      { name: 'socket-mode', value: 'MODE', summary: 'mode of the socket file (default 0600)' },
      { name: 'allow-uid', value: 'UID,...', summary: 'also serve these uids (by default root only)' },
      { name: 'no-reconcile', summary: 'serve commands only; repair nothing' },
      json,
    ],
    load: () => import('./commands/engine'),
  },
  {
    name: 'cni',
    summary: 'the CNI plugin (spec 1.1): ADD, DEL, CHECK, GC, STATUS, VERSION, for container runtimes',
    usage: ['cni  (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH in the environment; the network configuration on stdin)'],
    details:
      'What a runtime runs for a network whose configuration says "type": "pipewright"; also installed as pipewright-cni (put it, or a link to it named pipewright, in /opt/cni/bin or /usr/lib/cni). Writes the result, or the spec\'s error JSON, on stdout and nothing else. See README: Use with podman / containerd / Kubernetes.',
    load: () => import('./commands/cni'),
  },
  {
    name: 'completion',
    summary: 'print the bash or zsh completion script',
    usage: ['completion bash|zsh'],
    details: 'bash: pipewright completion bash > /etc/bash_completion.d/pipewright. zsh: pipewright completion zsh > "${fpath[1]}/_pipewright".',
    positional: [1, 1],
    completes: 'shell',
    load: () => import('./commands/completion'),
  },
  {
    name: 'help',
    summary: 'print the help of pipewright or of one command',
    usage: ['help [COMMAND [SUBCOMMAND]]'],
    positional: [0, 2],
    completes: 'command',
    load: () => import('./commands/help'),
  },
];

/** The command (or subcommand) called `word` among `list`, by name or alias. */
export function findCommand(word: string | undefined, list: readonly CommandSpec[] = COMMANDS): CommandSpec | undefined {
  return word === undefined ? undefined : list.find((c) => c.name === word || c.aliases?.includes(word));
}

/** Every name and alias in `list`, for suggestions and completion. */
export function commandWords(list: readonly CommandSpec[] = COMMANDS): string[] {
  return list.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
}
