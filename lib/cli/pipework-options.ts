// The options of pipework's positional command line, and the few every
// command shares. Data only, apart from the registry: pipework-args.ts
// scans argv against them, and the registry (which loads the commands that
// use pipework-args) lists them in help, completion and the man page.
import type { OptionSpec } from './registry';

export const json: OptionSpec = { name: 'json', summary: 'print the result (or the error) as JSON on stdout' };
export const verbose: OptionSpec = { name: 'verbose', short: 'v', summary: 'print what was done (the default is silence on success, as pipework)' };
export const quiet: OptionSpec = { name: 'quiet', short: 'q', summary: 'print nothing on success, not even warnings (errors still go to stderr)' };
export const help: OptionSpec = { name: 'help', short: 'h', summary: 'print this help' };

/** pipework's options (the default command's), in the order help lists them. */
export const PIPEWORK_OPTIONS: readonly OptionSpec[] = [
  { name: 'guest-if', short: 'i', value: 'GUESTIF', summary: 'interface name inside the guest (default eth1)' },
  { name: 'host-end', short: 'l', value: 'LOCALIF', summary: 'name of the host end (default v<GUESTIF>pl<PID>)' },
  { name: 'family', short: 'a', value: '4|6', summary: 'require the address to be of this family' },
  { name: 'direct-phys', summary: 'move the host device itself into the guest' },
  { name: 'wait', summary: '(inside a guest) wait for GUESTIF to exist and have carrier' },
  { name: 'timeout', value: 'MS', summary: 'for --wait (default 30000), or the DHCP lease wait' },
  { name: 'mtu', value: 'N', summary: "MTU of the new interfaces (default: the host interface's)" },
  { name: 'owner', value: 'NAME', summary: "ownership tag written into the host end's ifalias (default pipewright)" },
  { name: 'no-arp', summary: 'do not send the gratuitous ARP after addressing' },
  { name: 'ipv6-link-local', summary: "keep an IPv4-only guest interface's IPv6 link-local address (by default it makes none)" },
  { name: 'dry-run', summary: 'print the ordered plan and its undo plan; change nothing' },
  { name: 'watch', value: 'MS', summary: 'after attaching, watch the host end for MS ms and report what undoes it' },
  { name: 'repair', summary: 'with --watch: put the port back (up, enslaved) when something undoes it' },
  { name: 'force', summary: '(detach) remove an interface pipewright did not make' },
    json, verbose, quiet, help,
];
