// Writes the seed corpus for decode_fuzz: well-formed messages the decoders
// fully understand, so the fuzzer starts deep inside every branch instead of
// having to discover the wire format.
//
//   make_seeds DIR            requests from our own encoders, retyped as the
//                             RTM_NEW* messages the decoders accept
//   make_seeds DIR --kernel   also every link, address, route, neighbour and
//                             FDB entry the kernel reports in this namespace
//                             (dumps only: it changes nothing; the script
//                             builds a varied scene in a sandbox first)
#include <linux/rtnetlink.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "ops.h"
#include "socket.h"

namespace {

using pw::Value;

Value Obj(std::initializer_list<std::pair<const char*, Value>> fields) {
  Value o = Value::MakeObject();
  for (const auto& f : fields) o.Set(f.first, f.second);
  return o;
}

void WriteSeed(const std::string& dir, const std::string& name, const void* data, size_t len) {
  std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, len, f) != len || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
}

// A request op -> the RTM_NEW* type the kernel would answer or announce it with.
uint16_t NewTypeFor(const std::string& op) {
  if (op.rfind("link.", 0) == 0) return RTM_NEWLINK;
  if (op.rfind("addr.", 0) == 0) return RTM_NEWADDR;
  if (op.rfind("route.", 0) == 0) return RTM_NEWROUTE;
  return RTM_NEWNEIGH;
}

// Every attribute our encoders write, across all the kinds and families.
std::vector<std::pair<const char*, Value>> Requests() {
  return {
      {"link.add", Obj({{"kind", "bridge"}, {"name", "br0"}, {"up", true}, {"mtu", 1400}, {"address", "02:00:00:00:00:01"},
                        {"txqlen", 1000}, {"group", 3}, {"alias", "the bridge"}, {"stp", true}, {"forwardDelay", 1500},
                        {"ageingTime", 30000}, {"priority", 100}, {"vlanFiltering", true}, {"multicastSnooping", false}})},
      {"link.add", Obj({{"kind", "veth"}, {"name", "vh1"}, {"master", 3},
                        {"peer", Obj({{"name", "eth0"}, {"mtu", 1450}, {"up", true}, {"netnsFd", 7}})}})},
      {"link.add", Obj({{"kind", "vxlan"}, {"name", "vx0"}, {"vni", 42}, {"dev", 2}, {"remote", "192.0.2.1"},
                        {"local", "192.0.2.2"}, {"ttl", 64}, {"learning", false}, {"ageing", 300}, {"port", 4789}})},
      {"link.add", Obj({{"kind", "vxlan"}, {"name", "vx6"}, {"vni", 7}, {"multicastGroup", "ff05::100"}, {"local", "2001:db8::1"}})},
      {"link.add", Obj({{"kind", "vlan"}, {"name", "v100"}, {"parent", 2}, {"vlanId", 100}, {"protocol", "802.1ad"}})},
      {"link.add", Obj({{"kind", "macvlan"}, {"name", "mv0"}, {"parent", 2}, {"mode", "bridge"}})},
      {"link.set", Obj({{"index", 5}, {"name", "renamed"}, {"up", false}, {"master", 0}})},
      {"addr.add", Obj({{"index", 2}, {"address", "10.0.0.1"}, {"prefixLen", 24}, {"peer", "10.0.0.2"}, {"broadcast", "10.0.0.255"},
                        {"label", "eth0:1"}, {"metric", 5}, {"validLifetime", 100}, {"preferredLifetime", 50}})},
      {"addr.add", Obj({{"index", 2}, {"address", "2001:db8::5"}, {"prefixLen", 64}, {"nodad", true}, {"noprefixroute", true}})},
      {"route.add", Obj({{"dst", "10.1.0.0"}, {"dstLen", 16}, {"gateway", "10.0.0.1"}, {"dev", 2}, {"table", 1000},
                         {"metric", 10}, {"src", "10.0.0.2"}, {"mtu", 1400}, {"onlink", true}})},
      {"route.add", Obj({{"dst", "default"}, {"family", 4}, {"gateway", "fe80::1"}, {"dev", 2}})},
      {"route.add", Obj({{"dst", "2001:db8:1::"}, {"dstLen", 48}, {"type", "unreachable"}, {"proto", "static"}})},
      {"neigh.add", Obj({{"index", 2}, {"address", "10.0.0.9"}, {"lladdr", "02:00:00:00:00:09"}, {"state", "reachable"}})},
      {"neigh.add", Obj({{"index", 2}, {"address", "fe80::9"}, {"lladdr", "02:00:00:00:00:0a"}, {"flags", Obj({{"router", true}})}})},
      {"neigh.append", Obj({{"family", "bridge"}, {"index", 4}, {"lladdr", "00:00:00:00:00:00"}, {"address", "192.0.2.7"},
                            {"vlan", 10}, {"port", 4789}, {"vni", 42}})},
  };
}

void WriteRequestSeeds(const std::string& dir) {
  int n = 0;
  for (const auto& [name, args] : Requests()) {
    std::vector<uint8_t> bytes = pw::EncodeOp(*pw::FindOp(name), args);
    nlmsghdr h;
    std::memcpy(&h, bytes.data(), sizeof(h));
    h.nlmsg_type = NewTypeFor(name);
    h.nlmsg_flags = 0;
    std::memcpy(bytes.data(), &h, sizeof(h));
    WriteSeed(dir, "request-" + std::to_string(n++), bytes.data(), bytes.size());
  }
}

// Each dumped object as a seed of its own, and each dump whole as one seed
// of many messages (the shape decode() and event batches see).
void WriteKernelSeeds(const std::string& dir) {
  pw::NlSocket sock(-1);
  const std::pair<const char*, Value> dumps[] = {
      {"link.list", Obj({})},
      {"addr.list", Obj({})},
      {"route.list", Obj({})},
      {"neigh.list", Obj({})},
      {"neigh.list", Obj({{"family", "bridge"}})},
  };
  int n = 0;
  for (const auto& [name, args] : dumps) {
    pw::Builder b;
    pw::FindOp(name)->encode(args, b);
    std::string all;
    for (const std::string& msg : sock.Dump(b)) {
      WriteSeed(dir, "kernel-" + std::to_string(n++), msg.data(), msg.size());
      all += msg;
    }
    WriteSeed(dir, "kernel-dump-" + std::to_string(n++), all.data(), all.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [--kernel]\n", argv[0]);
    return 2;
  }
  try {
    WriteRequestSeeds(argv[1]);
    if (argc > 2 && std::string(argv[2]) == "--kernel") WriteKernelSeeds(argv[1]);
  } catch (const pw::NlException& e) {
    std::fprintf(stderr, "make_seeds: %s\n", pw::FormatMessage(e.err).c_str());
    return 1;
  } catch (const pw::EncodeError& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
