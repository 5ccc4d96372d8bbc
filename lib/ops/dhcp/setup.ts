// The shell script that builds a client's private world: it runs in the new
// mount+UTS namespace (made by unshare) and then executes the client in the
// guest's network namespace. Why each piece is private:
//  - /etc/resolv.conf is this guest's own file. pipework used `ip netns exec`,
//    and that let all three clients rewrite the host's resolv.conf.
//  - /run is an empty tmpfs. dhcpcd keeps its pid file and socket in
//    /run/dhcpcd, which may not exist on the host, and the timesyncd/chrony/ntp
//    hooks of dhclient and dhcpcd write into /run/systemd and similar
//    directories and then restart the host's services. With an empty /run they
//    find no /run/systemd/system and skip.
//  - /var/lib/ops/dhcp and /var/lib/dhcpcd (leases, DUID) are empty tmpfs mounts.
//  - /etc gets a private writable overlay where overlayfs is available.
//    dhclient-script writes a temporary resolv.conf next to the real one.
//  - The hostname is private. dhclient sends gethostname() and the hostname
//    hooks of dhclient and dhcpcd may set it. Here they see, and can only
//    change, a hostname made from the guest's label.

/** The setup script's exit status when it, not the client, failed. */
export const SETUP_FAILED = 125;

/**
 * Arguments: $1 the guest's state dir (absolute and canonical), $2 the
 * hostname ('' for none), $3 a scratch dir, then the client command.
 * $PW_NETNS is the guest's namespace, as /proc/<our pid>/fd/<fd>.
 *
 * cover() puts an empty tmpfs over a directory. It builds the tmpfs on the
 * scratch dir first and copies in what must stay reachable: the guest's state
 * dir (PW_STATE_DIR defaults to /run/pipewright), bind-mounted back, and an
 * empty file where /etc/resolv.conf really points (a symlink into /run under
 * systemd-resolved or resolvconf), so the bind below has a target. Then it
 * moves the tmpfs into place.
 *
 * The final exec keeps the pid: unshare does not fork (no --fork) and
 * nsenter --net does not either, so the pid node spawned is the client's.
 */
export const SETUP = `die() { echo "pipewright: $*" >&2; exit ${SETUP_FAILED}; }
dir=$1 name=$2 t=$3
shift 3
if [ ! -e /etc/resolv.conf ] && [ ! -L /etc/resolv.conf ]; then
  die "/etc/resolv.conf does not exist, so the client cannot be given a private one"
fi
real=$(readlink -f /etc/resolv.conf) || die "cannot resolve /etc/resolv.conf"
# -n everywhere: no userspace mount table (utab, under the real /run) to write.
cover() {
  mkdir -p "$t" && mount -n -t tmpfs -o mode=0755 pw-dhcp "$t" || die "cannot mount a tmpfs on $t"
  case $dir/ in "$1"/*)
    mkdir -p "$t/\${dir#"$1"/}" && mount -n --bind "$dir" "$t/\${dir#"$1"/}" || die "cannot keep $dir visible over $1" ;;
  esac
  case $real in "$1"/*)
    mkdir -p "$t/$(dirname "\${real#"$1"/}")" && : > "$t/\${real#"$1"/}" || die "cannot recreate $real over $1" ;;
  esac
  mount -n --move "$t" "$1" || die "cannot move the tmpfs over $1"
}
cover /run
if [ -d /var/lib/ops/dhcp ] && [ -d /var/lib/dhcpcd ]; then
  mount -n -t tmpfs -o mode=0755 pw-dhcp /var/lib/ops/dhcp && mount -n -t tmpfs -o mode=0755 pw-dhcp /var/lib/dhcpcd || die "cannot mount a tmpfs on /var/lib/dhcp*"
else
  # A missing state dir would be created on the host's disk (dhcpcd creates
  # its own). Cover /var/lib instead and make both dirs in the tmpfs.
  cover /var/lib
  mkdir -p /var/lib/ops/dhcp /var/lib/dhcpcd || die "cannot create /var/lib/dhcp*"
fi
# dhclient-script writes its new resolv.conf next to the old one in /etc,
# and NTP hooks write /etc files too: give /etc a private writable layer.
# Without overlayfs /etc stays shared, and the bind below still protects
# resolv.conf.
mkdir -p /run/.pw-etc/up /run/.pw-etc/work || die "cannot create /run/.pw-etc"
mount -n -t overlay pw-dhcp -o lowerdir=/etc,upperdir=/run/.pw-etc/up,workdir=/run/.pw-etc/work /etc 2>/dev/null || true
mount -n --bind "$dir/resolv.conf" /etc/resolv.conf || die "cannot bind $dir/resolv.conf on /etc/resolv.conf"
# sethostname(2) through hostname(1): allowed in a user namespace that owns
# this UTS namespace, where /proc/sys/kernel/hostname is the host root's.
[ -z "$name" ] || hostname "$name" 2>/dev/null || echo "$name" > /proc/sys/kernel/hostname || die "cannot set the private hostname"
exec nsenter --net="$PW_NETNS" "$@"`;
