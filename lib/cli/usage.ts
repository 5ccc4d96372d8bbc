// The pipework forms and exit codes, shown by `pipewright help`, by
// `pipewright help pipework` and after a bare `pipewright`. Plain text, so
// printing them loads nothing else; the list of commands comes from the
// registry (help.ts).

export const PIPEWORK_FORMS = `pipework-compatible forms:
  pipewright [--direct-phys] HOSTIF|mac:HOSTMAC [-i GUESTIF] [-l LOCALIF] [-a 4|6] GUEST IP/PREFIX[@GW] [MAC|U:SEED][@VLAN]
  pipewright HOSTIF|mac:HOSTMAC [-i GUESTIF] [-l LOCALIF] GUEST dhcp|udhcpc|dhclient|dhcpcd[-f][:OPTS] [MAC|U:SEED][@VLAN]
  pipewright route GUEST ROUTE-ARGS...    ip route syntax: add|del|replace|show [default|PREFIX] [via GW] [dev IF] ...
  pipewright rule GUEST RULE-ARGS...      ip rule syntax: add|del|show [from P] [to P] [lookup N] [priority N] ...
  pipewright tc GUEST TC-ARGS...          runs tc inside the guest's network namespace
  pipewright --wait [-i GUESTIF] [--timeout MS]
                                          waits (in this namespace) for GUESTIF to exist and have carrier

  HOSTIF   an existing bridge; a missing name starting with 'br' (created as a bridge);
           another device (a macvlan on it, or with @VLAN on HOSTIF.VLAN); mac:HOSTMAC finds it by MAC.
           Any first word that is not a command is HOSTIF; one close to a command's name
           (helpp, atach) without GUEST and an address after it is an unknown command.
  GUEST    a container name or ID (Docker/Podman API), a named netns, a PID, an nsfs path,
           or explicitly netns:NAME, pid:N, path:P, docker:NAME
  0/0      attaches without an address; -i defaults to eth1; the host end is v<GUESTIF>pl<PID>
  U:SEED   a stable MAC derived from SEED (as pipework: 02: + md5 of the seed)
  -f       keeps the DHCP client running; :OPTS are extra client options (split on spaces)

Options accepted anywhere in those forms:
  -v, --verbose  print what was done (silent on success otherwise, as pipework)
  -q, --quiet    not even warnings
  --json         print the result (or the error) as JSON on stdout
  --dry-run      print the ordered plan and its undo plan; change nothing
  --watch MS     after attaching, watch the host end for MS ms and report what undoes it
  --repair       with --watch: put the port back (up, enslaved) when something undoes it
  --owner NAME   ownership tag written into the host end's ifalias (default pipewright)
  --mtu N        MTU of the new interfaces (default: the host interface's)
  --no-arp       do not send the gratuitous ARP after addressing
  --ipv6-link-local
                 keep an IPv4-only guest interface's IPv6 link-local address
                 (by default it makes none: no DAD, MLD or router solicitation)
  --timeout MS   for --wait (default 30000), or the DHCP lease wait`;

export const EXIT_CODES_TEXT = `Exit codes:
  0 success (also: already attached exactly as asked)   1 unexpected error
  2 bad usage or invalid input (incl. a missing host interface)   3 guest not found
  4 the kernel refused / a step failed (rolled back); also missing privileges
  5 verification failed   6 conflicts with what exists   7 timeout`;

/** The 'needs root' hint added to a refusal for lack of privilege (EPERM, EACCES). */
export const PRIVILEGE_HINT = 'needs root or CAP_NET_ADMIN (and CAP_SYS_ADMIN for namespaces)';
