// The syntax summary shown by `pipewright help`, `--help`, and after a bare
// `pipewright`. Kept as plain text so printing it loads nothing else.

export const PIPEWORK_FORMS = `pipework-compatible forms:
  pipewright [--direct-phys] HOSTIF|mac:HOSTMAC [-i GUESTIF] [-l LOCALIF] [-a 4|6] GUEST IP/PREFIX[@GW] [MAC|U:SEED][@VLAN]
  pipewright HOSTIF|mac:HOSTMAC [-i GUESTIF] [-l LOCALIF] GUEST dhcp|udhcpc|dhclient|dhcpcd[-f][:OPTS] [MAC|U:SEED][@VLAN]
  pipewright route GUEST ROUTE-ARGS...    ip route syntax: add|del|replace|show [default|PREFIX] [via GW] [dev IF] ...
  pipewright rule GUEST RULE-ARGS...      ip rule syntax: add|del|show [from P] [to P] [lookup N] [priority N] ...
  pipewright tc GUEST TC-ARGS...          runs tc inside the guest's network namespace
  pipewright --wait [-i GUESTIF] [--timeout MS]
                                          waits (in this namespace) for GUESTIF to exist and have carrier

  HOSTIF   an existing bridge; a missing name starting with 'br' (created as a bridge);
           another device (a macvlan on it, or with @VLAN on HOSTIF.VLAN); mac:HOSTMAC finds it by MAC
  GUEST    a container name or ID (Docker/Podman API), a named netns, a PID, an nsfs path,
           or explicitly netns:NAME, pid:N, path:P, docker:NAME
  0/0      attaches without an address; -i defaults to eth1; the host end is v<GUESTIF>pl<PID>
  U:SEED   a stable MAC derived from SEED (as pipework: 02: + md5 of the seed)
  -f       keeps the DHCP client running; :OPTS are extra client options (split on spaces)

Options accepted anywhere in those forms:
  --json         print the result (or the error) as JSON on stdout
  --dry-run      print the ordered plan and its undo plan; change nothing
  --watch MS     after attaching, watch the host end for MS ms and report what undoes it
  --repair       with --watch: put the port back (up, enslaved) when something undoes it
  --owner NAME   ownership tag written into the host end's ifalias (default pipewright)
  --mtu N        MTU of the new interfaces (default: the host interface's)
  --no-arp       do not send the gratuitous ARP after addressing
  --timeout MS   for --wait (default 30000), or the DHCP lease wait

Beyond pipework:
  pipewright attach|detach ...            named-option forms (pipewright attach --help)
  pipewright netns ls [--all] [--json]    every network namespace on the host, who holds it, its addresses
  pipewright netns holders NAME|PATH|INODE   what keeps one namespace alive, and what would release it
  pipewright netns delete NAME            remove a name and wait until the namespace is really gone
  pipewright find-ip ADDR [--mac M] [--ifname N]   which namespace holds an address, MAC or interface
  pipewright doctor [--json]              checks for the failures that bite (exit 5 when something is found)
  pipewright gc [--owner NAME] [--dry-run] [--complete]
                                          remove leaked pipewright-owned links and roll back crashed attaches
                                          (from the journal); --complete runs those attaches again afterwards
  pipewright detach GUEST [-i IF] [--force]   remove an interface attach made (--force: one it did not make)
  pipewright show [--format table|json|dot|svg|mermaid]   the topology
  pipewright batch FILE|- [--json] [--concurrency N] [--create-netns]
                                                   many attaches in one run: pipework lines, or a JSON array of specs
                                                   (the command line's fields only: hostIf, guest, guestIf, address, ...);
                                                   --create-netns makes guests named NAME/netns:NAME that do not exist yet
  pipewright repro [--json] [NAME...]     replay the field failures the old way and with pipewright (in a sandbox)

Exit codes:
  0 success (also: already attached exactly as asked)   1 unexpected error
  2 bad usage or invalid input (incl. a missing host interface)   3 guest not found
  4 the kernel refused / a step failed (rolled back)   5 verification failed
  6 conflicts with what exists   7 timeout`;
