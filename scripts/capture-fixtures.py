#!/usr/bin/env python3
"""The parsing half of scripts/capture-fixtures.sh (which runs the commands).

  capture-fixtures.py entries LIST
      Checks the command list and prints one line per entry:
      NAME US SETUP US COMMAND, US being the unit separator (0x1f), which,
      unlike a tab, bash's `read` does not merge when SETUP is empty.
  capture-fixtures.py write LIST NAME STRACE_LOG VERSION_LINE OUTDIR
      Finds the entry's request in an `strace -e write=all` log and writes
      OUTDIR/NAME.json.

The list (test/fixtures/iproute2/commands.txt) holds one JSON object per line;
blank lines and lines starting with '#' are skipped. Keys:
  name     the fixture's file name, without .json
  op       the pipewright operation whose encoder must produce the same bytes
  command  the iproute2 command line, run in the capture scene
  args     the operation's arguments (the scene's ifindexes: p1=2, p0=3, vxlan0=4, br0=5)
  setup    optional shell run in the scene before the capture, not traced
  note     optional: what is worth knowing about this request
  ourHex   optional: pipewright's request when it differs from iproute2's on
           purpose (the note says why); the unit test compares with it instead
  pick     optional: take the Nth (1-based) message of the op's type, not the first
"""
import json
import re
import struct
import sys

# The scene sentence and the flags sentence end every note, as they always have.
SCENE = ("In the capture sandbox the devices had these indexes (the args use them): "
         "p1=2, p0=3, vxlan0=4, br0=5.")
FLAGS_SAME = ("nlmsg_seq is zeroed; nlmsg_flags match ours exactly "
              "(REQUEST|ACK plus the op's flags, or REQUEST|DUMP).")
FLAGS_ECHO = ("nlmsg_seq is zeroed; nlmsg_flags match ours except NLM_F_ECHO (0x8), which "
              "pipewright's link.add sets (the kernel answers with the new link) and iproute2 "
              "does not; the unit test clears that bit before comparing.")
FLAGS_OURS = "nlmsg_seq is zeroed; nlmsg_flags differ from ours as the note says."

# rtnetlink message families: NEW = base, DEL = base + 1, GET = base + 2.
BASE = {"link": 16, "addr": 20, "route": 24, "neigh": 28, "rule": 32}
VERB = {"add": 0, "replace": 0, "append": 0, "set": 0, "del": 1, "delGroup": 1, "get": 2, "list": 2}
NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid


def msg_type(op):
    obj, _, verb = op.partition(".")
    if obj not in BASE or verb not in VERB:
        raise SystemExit(f"unknown op {op!r}")
    return BASE[obj] + VERB[verb]


def load(path):
    entries, names = [], set()
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                e = json.loads(line)
            except ValueError as err:
                raise SystemExit(f"{path}:{n}: {err}")
            for key in ("name", "op", "command", "args"):
                if key not in e:
                    raise SystemExit(f"{path}:{n}: '{key}' is missing")
            extra = set(e) - {"name", "op", "command", "args", "setup", "note", "ourHex", "pick"}
            if extra:
                raise SystemExit(f"{path}:{n}: unknown keys {sorted(extra)}")
            if e["name"] in names:
                raise SystemExit(f"{path}:{n}: '{e['name']}' appears twice")
            if any(c in e.get(k, "") for c in "\x1f\n" for k in ("name", "setup", "command")):
                raise SystemExit(f"{path}:{n}: newlines are not allowed in name, setup, command")
            msg_type(e["op"])
            names.add(e["name"])
            entries.append(e)
    return entries


def syscalls(log):
    """The bytes each traced sendto/sendmsg sent, in order (iovecs joined)."""
    calls = []
    for line in log.splitlines():
        if line.startswith(" | "):
            # " | 00000  20 00 ... 00  ascii |": 16 bytes of hex in fixed columns.
            calls[-1] += bytes.fromhex(line[10:59].replace(" ", ""))
        elif line.startswith(" * "):
            continue  # " * 56 bytes in buffer 0": sendmsg's iovecs follow in order
        elif re.match(r"^\d+ +(sendto|sendmsg)\(", line):
            calls.append(b"")
    return calls


def messages(data):
    off = 0
    while off + NLMSGHDR.size <= len(data):
        length = NLMSGHDR.unpack_from(data, off)[0]
        if length < NLMSGHDR.size or off + length > len(data):
            break
        yield data[off:off + length]
        off += (length + 3) & ~3


def pick(log, want, nth=1):
    """The nth message of type `want`, skipping seq-0 probes, with seq and pid zeroed.

    iproute2 may first send RTM_GETLINK lookups of device names (another type,
    except for `ip link show`, where `pick` says which one), and `ip link`
    first sends an attribute-less RTM_NEWLINK with seq 0 to learn whether the
    kernel has RTM_NEWLINK at all (iplink_have_newlink): not the request.
    """
    seen = 0
    for call in syscalls(log):
        for m in messages(call):
            _, mtype, _, seq, _ = NLMSGHDR.unpack_from(m)
            if mtype != want or seq == 0:
                continue
            seen += 1
            if seen == nth:
                return m[:8] + bytes(8) + m[16:]
    return None


def version(line):
    # `ip -V`: "ip utility, iproute2-6.1.0, libbpf 1.1.2"; `bridge -V`: "bridge utility, 6.1.0".
    m = re.search(r"utility, (?:iproute2-)?([^,\s]+)", line)
    if not m:
        raise SystemExit(f"cannot read the iproute2 version from {line!r}")
    return m.group(1)


def write(list_path, name, log_path, version_line, outdir):
    entry = next((e for e in load(list_path) if e["name"] == name), None)
    if entry is None:
        raise SystemExit(f"no entry named {name!r}")
    with open(log_path) as f:
        log = f.read()
    msg = pick(log, msg_type(entry["op"]), entry.get("pick", 1))
    if msg is None:
        raise SystemExit(f"{name}: `{entry['command']}` sent no message of type "
                         f"{msg_type(entry['op'])} (see {log_path})")
    flags = FLAGS_ECHO if entry["op"] == "link.add" else FLAGS_SAME
    if "ourHex" in entry and bytes.fromhex(entry["ourHex"])[6:8] != msg[6:8]:
        flags = FLAGS_OURS
    fixture = {
        "command": entry["command"],
        "iproute2": version(version_line),
        "op": entry["op"],
        "args": entry["args"],
        "hex": msg.hex(),
    }
    if "ourHex" in entry:
        fixture["ourHex"] = entry["ourHex"]
    fixture["note"] = " ".join(filter(None, [entry.get("note"), SCENE, flags]))
    with open(f"{outdir}/{name}.json", "w") as f:
        f.write(json.dumps(fixture, indent=2) + "\n")


def main(argv):
    if len(argv) == 3 and argv[1] == "entries":
        for e in load(argv[2]):
            print("\x1f".join([e["name"], e.get("setup", ""), e["command"]]))
    elif len(argv) == 7 and argv[1] == "write":
        write(*argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
