// Per-kind IFLA_INFO_DATA codecs (veth, bridge, macvlan, macvtap, vxlan,
// vlan): one row each, so every kind's attributes are encoded in one place.
#pragma once

#include "message.h"
#include "op_table_gen.h"
#include "value.h"

namespace pw {

struct LinkKind {
  const char* kind;
  // Writes IFLA_INFO_DATA (or nothing) for an add request.
  void (*encode)(const Value& args, Builder& b);
  // Decodes IFLA_INFO_DATA into fields set on the link object.
  void (*decode)(const Attr& data, Value& link);
};

const LinkKind* FindLinkKind(const std::string& kind);
// Common link attributes shared by a link and a veth peer (mtu, address, netns, ...).
void EncodeCommonLinkAttrs(const Value& args, Builder& b);
// How many transmit and receive queues a link is created with (txQueues,
// rxQueues): creation only, the kernel cannot change them afterwards.
void EncodeQueueAttrs(const Value& args, Builder& b);

}  // namespace pw
