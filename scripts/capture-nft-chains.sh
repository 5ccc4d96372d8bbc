#!/usr/bin/env bash
# Re-creates test/fixtures/nftables/chains-dump.json: the kernel's reply to
# an nf_tables chain dump (NFT_MSG_GETCHAIN, NLM_F_DUMP, every family) in a
# namespace set up as below, which test/unit/firewall-decode.test.ts feeds to
# the addon's decoder. The dump is taken by a few lines of Python, not by our
# addon, so the fixture does not depend on the code it tests.
#
#   scripts/capture-nft-chains.sh [OUTFILE]
#
# Runs inside scripts/sandbox.sh, in a network namespace made for it. Needs
# iptables, ip6tables and ebtables (the nft variants) and python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if [ "${PW_SANDBOXED:-}" != 1 ]; then exec "$here/sandbox.sh" "$here/capture-nft-chains.sh" "$@"; fi
out="${1:-$root/test/fixtures/nftables/chains-dump.json}"
mkdir -p "$(dirname "$out")"

# The ruleset: what a Docker host with a few extra rules looks like to the
# check, plus chains the decoder must skip (a regular chain, other hooks).
setup='
iptables -P FORWARD DROP
iptables -N DOCKER-USER
iptables -A DOCKER-USER -j RETURN
iptables -A FORWARD -j DOCKER-USER
iptables -P INPUT ACCEPT
iptables -t nat -A POSTROUTING -j ACCEPT
ip6tables -A FORWARD -j ACCEPT
ebtables -P FORWARD DROP
'

unshare --net bash -c "set -e; $setup
exec python3 - \"\$@\"" capture "$out" "$(uname -r)" "$setup" <<'EOF'
import json, socket, struct, sys

out, kernel, setup = sys.argv[1:4]
NETLINK_NETFILTER = 12
GETCHAIN = (10 << 8) | 4          # NFNL_SUBSYS_NFTABLES, NFT_MSG_GETCHAIN
REQUEST, DUMP = 0x1, 0x300
DONE, ERROR = 3, 2

s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.bind((0, 0))
# nlmsghdr + nfgenmsg {family NFPROTO_UNSPEC, version 0, res_id 0}
s.send(struct.pack('=IHHII', 20, GETCHAIN, REQUEST | DUMP, 1, 0) + struct.pack('=BBH', 0, 0, 0))
msgs, done = [], False
while not done:
    data = s.recv(65536)
    off = 0
    while off + 16 <= len(data):
        length, mtype, flags, seq, pid = struct.unpack_from('=IHHII', data, off)
        if mtype == ERROR:
            raise SystemExit('the dump failed: errno %d' % -struct.unpack_from('=i', data, off + 16)[0])
        if mtype == DONE:
            done = True
            break
        # Sequence and port id zeroed: they differ on every run.
        msg = bytearray(data[off:off + length])
        struct.pack_into('=II', msg, 8, 0, 0)
        msgs.append(bytes(msg) + b'\0' * (-length % 4))
        off += (length + 3) & ~3
json.dump({
    'setup': [l for l in setup.strip().split('\n')],
    'kernel': kernel,
    'messages': len(msgs),
    'hex': b''.join(msgs).hex(),
    'note': 'Each message is an NFT_MSG_NEWCHAIN reply, nlmsg_seq and nlmsg_pid zeroed; res_id is the ruleset generation.',
}, open(out, 'w'), indent=2)
open(out, 'a').write('\n')
print('%s: %d chain messages' % (out, len(msgs)))
EOF
