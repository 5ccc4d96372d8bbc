// What a DHCP attach asks of its client: written by the caller (attach's spec,
// the command line's dhcp|udhcpc|dhclient|dhcpcd word) and read by this
// folder. It lives here, below attach, so dhcp/ never reads attach/.

export type DhcpClient = 'dhcp' | 'udhcpc' | 'dhclient' | 'dhcpcd';

export const DHCP_CLIENTS: readonly DhcpClient[] = ['dhcp', 'udhcpc', 'dhclient', 'dhcpcd'];

export interface DhcpSpec {
  client: DhcpClient;
  /** Keep the client running (pipework's "-f"): renewals keep working. */
  foreground?: boolean;
  /** Extra client arguments (pipework's "dhcp:OPTS"). */
  options?: readonly string[];
  /** How long to wait for a lease. */
  timeoutMs?: number;
}
