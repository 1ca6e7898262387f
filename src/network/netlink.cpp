#include "network/netlink.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

namespace berth::network {

// ---- message building ----------------------------------------------------

NlMessage::NlMessage(std::uint16_t type, std::uint16_t flags, const void* familyHeader, std::size_t familyLen) {
  buf_.resize(NLMSG_HDRLEN);
  auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
  h->nlmsg_type = type;
  h->nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST);
  putRaw(familyHeader, familyLen);
}

void NlMessage::align() { buf_.resize(NLMSG_ALIGN(buf_.size())); }

void NlMessage::fixLength() {
  reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
}

void NlMessage::putRaw(const void* data, std::size_t len) {
  std::size_t at = buf_.size();
  buf_.resize(at + len);
  if (len) std::memcpy(buf_.data() + at, data, len);
  align();
  fixLength();
}

void NlMessage::put(std::uint16_t type, const void* data, std::size_t len) {
  rtattr a{};
  a.rta_type = type;
  a.rta_len = static_cast<std::uint16_t>(RTA_LENGTH(len));
  std::size_t at = buf_.size();
  buf_.resize(at + RTA_LENGTH(0) + len);
  std::memcpy(buf_.data() + at, &a, sizeof a);
  if (len) std::memcpy(buf_.data() + at + RTA_LENGTH(0), data, len);
  align();
  fixLength();
}

void NlMessage::putString(std::uint16_t type, std::string_view s) {
  std::string z(s);
  put(type, z.c_str(), z.size() + 1);
}

std::size_t NlMessage::beginNested(std::uint16_t type) {
  std::size_t at = buf_.size();
  put(type, nullptr, 0);
  return at;
}

void NlMessage::endNested(std::size_t offset) {
  auto* a = reinterpret_cast<rtattr*>(buf_.data() + offset);
  a->rta_len = static_cast<std::uint16_t>(buf_.size() - offset);
}

void NlMessage::addFlags(std::uint16_t flags) { reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_flags |= flags; }

void NlMessage::setSeq(std::uint32_t seq) { reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_seq = seq; }

// ---- parsing -------------------------------------------------------------

namespace {

template <class F>
void forEachAttr(const rtattr* a, int len, F&& f) {
  for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) f(a);
}

std::string attrString(const rtattr* a) {
  const char* p = static_cast<const char*>(RTA_DATA(a));
  return std::string(p, strnlen(p, RTA_PAYLOAD(a)));
}

LinkInfo parseLink(const nlmsghdr* h) {
  LinkInfo l;
  const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  l.index = ifi->ifi_index;
  l.up = (ifi->ifi_flags & IFF_UP) != 0;
  forEachAttr(IFLA_RTA(ifi), static_cast<int>(IFLA_PAYLOAD(h)), [&](const rtattr* a) {
    switch (a->rta_type) {
      case IFLA_IFNAME: l.name = attrString(a); break;
      case IFLA_MTU: std::memcpy(&l.mtu, RTA_DATA(a), sizeof l.mtu); break;
      case IFLA_MASTER: std::memcpy(&l.master, RTA_DATA(a), sizeof l.master); break;
      case IFLA_ADDRESS:
        if (RTA_PAYLOAD(a) == 6) {
          Mac m;
          std::memcpy(m.data(), RTA_DATA(a), 6);
          l.mac = m;
        }
        break;
      case IFLA_LINKINFO:
        forEachAttr(static_cast<const rtattr*>(RTA_DATA(a)), static_cast<int>(RTA_PAYLOAD(a)), [&](const rtattr* n) {
          if (n->rta_type == IFLA_INFO_KIND) l.kind = attrString(n);
        });
        break;
      default: break;
    }
  });
  return l;
}

ifinfomsg linkHeader(int index = 0, bool up = false) {
  ifinfomsg i{};
  i.ifi_family = AF_UNSPEC;
  i.ifi_index = index;
  if (up) {
    i.ifi_flags = IFF_UP;
    i.ifi_change = IFF_UP;
  }
  return i;
}

Result<void> checkName(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find_first_of("/: \t\n") != std::string_view::npos)
    return errorf(Code::InvalidArgument, "invalid interface name \"{}\"", name);
  return {};
}

}  // namespace

// ---- the socket ----------------------------------------------------------

namespace {

Result<UniqueFd> openSocket() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return sysError(errno, "open rtnetlink socket");
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return sysError(errno, "bind rtnetlink socket");
  int one = 1;
  // Extended acks: the kernel's own reason in error replies (best effort).
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  return fd;
}

}  // namespace

Result<Rtnl> Rtnl::open() {
  TRY_ASSIGN(UniqueFd fd, openSocket());
  return Rtnl(std::move(fd));
}

Result<Rtnl> Rtnl::openIn(int netnsFd) {
  // setns(CLONE_NEWNET) changes only the calling thread; the socket stays
  // in the namespace it was created in after the thread ends.
  Result<UniqueFd> r = makeError(Code::Internal, "no result");
  std::thread t([&] {
    if (::setns(netnsFd, CLONE_NEWNET) != 0) {
      r = sysError(errno, "enter network namespace");
      return;
    }
    r = openSocket();
  });
  t.join();
  if (!r) return std::unexpected(r.error());
  return Rtnl(std::move(*r));
}

Result<void> Rtnl::sendMsg(NlMessage& m, std::string_view what) {
  m.setSeq(++seq_);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const auto& b = m.bytes();
  ssize_t n;
  do n = ::sendto(fd_.get(), b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0) return sysError(errno, "{}: send", what);
  return {};
}

namespace {

// Receives one datagram; grows to the size the kernel reports (MSG_TRUNC).
Result<std::vector<std::uint8_t>> receive(int fd, std::string_view what) {
  std::vector<std::uint8_t> buf(32768);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError(errno, "{}: receive", what);
    if (static_cast<std::size_t>(n) > buf.size()) buf.resize(static_cast<std::size_t>(n));
    n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError(errno, "{}: receive", what);
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
}

// An NLMSG_ERROR reply as a Result (error 0 is the ack).
Result<void> ackResult(const nlmsghdr* h, std::string_view what) {
  const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  if (e->error == 0) return {};
  int err = -e->error;
  std::string detail;
  if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
    // With NLM_F_CAPPED the original request is not echoed back.
    std::size_t off = sizeof(nlmsgerr) - sizeof(nlmsghdr) +
                      ((h->nlmsg_flags & NLM_F_CAPPED) ? sizeof(nlmsghdr) : e->msg.nlmsg_len);
    off = NLMSG_ALIGN(off);
    if (NLMSG_HDRLEN + off < h->nlmsg_len) {
      const auto* a = reinterpret_cast<const rtattr*>(static_cast<const std::uint8_t*>(NLMSG_DATA(h)) + off);
      forEachAttr(a, static_cast<int>(h->nlmsg_len - NLMSG_HDRLEN - off), [&](const rtattr* t) {
        if (t->rta_type == NLMSGERR_ATTR_MSG) detail = attrString(t);
      });
    }
  }
  auto r = detail.empty() ? sysError(err, "{}", what) : sysError(err, "{} ({})", what, detail);
  if (err == ENODEV) r.error().code = Code::NotFound;  // "No such device": no link of that name
  return r;
}

}  // namespace

Result<void> Rtnl::request(NlMessage& m, std::string_view what) {
  m.addFlags(NLM_F_ACK);
  TRY(sendMsg(m, what));
  for (;;) {
    TRY_ASSIGN(auto buf, receive(fd_.get(), what));
    int len = static_cast<int>(buf.size());
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq_) continue;  // a stale reply to an abandoned request
      if (h->nlmsg_type == NLMSG_ERROR) return ackResult(h, what);
    }
  }
}

template <class F>
Result<void> Rtnl::dump(NlMessage& m, std::string_view what, F&& each) {
  TRY(sendMsg(m, what));
  for (;;) {
    TRY_ASSIGN(auto buf, receive(fd_.get(), what));
    int len = static_cast<int>(buf.size());
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq_) continue;
      if (h->nlmsg_type == NLMSG_DONE) return {};
      if (h->nlmsg_type == NLMSG_ERROR) {
        TRY(ackResult(h, what));
        return {};
      }
      each(h);
    }
  }
}

// ---- operations ----------------------------------------------------------

Result<LinkInfo> Rtnl::link(std::string_view name) {
  TRY(checkName(name));
  auto hdr = linkHeader();
  NlMessage m(RTM_GETLINK, 0, &hdr, sizeof hdr);
  m.putString(IFLA_IFNAME, name);
  std::string what = fmt::format("get link {}", name);
  TRY(sendMsg(m, what));
  for (;;) {
    TRY_ASSIGN(auto buf, receive(fd_.get(), what));
    int len = static_cast<int>(buf.size());
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq_) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        TRY(ackResult(h, what));
        return errorf(Code::Internal, "{}: empty reply", what);
      }
      if (h->nlmsg_type == RTM_NEWLINK) return parseLink(h);
    }
  }
}

Result<std::vector<LinkInfo>> Rtnl::links(std::string_view prefix) {
  auto hdr = linkHeader();
  NlMessage m(RTM_GETLINK, NLM_F_DUMP, &hdr, sizeof hdr);
  std::vector<LinkInfo> out;
  TRY(dump(m, "list links", [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return;
    LinkInfo l = parseLink(h);
    if (l.name.starts_with(prefix)) out.push_back(std::move(l));
  }));
  return out;
}

Result<std::vector<AddrInfo>> Rtnl::addresses(int index) {
  ifaddrmsg hdr{};
  hdr.ifa_family = AF_UNSPEC;
  NlMessage m(RTM_GETADDR, NLM_F_DUMP, &hdr, sizeof hdr);
  std::vector<AddrInfo> out;
  TRY(dump(m, "list addresses", [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWADDR) return;
    const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
    if (index != 0 && static_cast<int>(ifa->ifa_index) != index) return;
    Family f = ifa->ifa_family == AF_INET ? Family::V4 : Family::V6;
    std::optional<IpAddr> local, address;
    forEachAttr(IFA_RTA(ifa), static_cast<int>(IFA_PAYLOAD(h)), [&](const rtattr* a) {
      std::size_t want = f == Family::V4 ? 4 : 16;
      if (RTA_PAYLOAD(a) != want) return;
      IpAddr ip = IpAddr::fromBytes(f, static_cast<const std::uint8_t*>(RTA_DATA(a)));
      if (a->rta_type == IFA_LOCAL) local = ip;
      if (a->rta_type == IFA_ADDRESS) address = ip;
    });
    // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's
    // on point-to-point links); IPv6 sends only IFA_ADDRESS.
    auto ip = local ? local : address;
    if (ip && (ifa->ifa_family == AF_INET || ifa->ifa_family == AF_INET6))
      out.push_back(AddrInfo{static_cast<int>(ifa->ifa_index), Prefix{*ip, ifa->ifa_prefixlen}});
  }));
  return out;
}

Result<int> Rtnl::createBridge(const BridgeSpec& spec) {
  TRY(checkName(spec.name));
  auto hdr = linkHeader(0, spec.up);
  NlMessage m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &hdr, sizeof hdr);
  m.putString(IFLA_IFNAME, spec.name);
  if (spec.mtu) m.putU32(IFLA_MTU, spec.mtu);
  if (spec.mac) m.put(IFLA_ADDRESS, spec.mac->data(), 6);
  auto info = m.beginNested(IFLA_LINKINFO);
  m.putString(IFLA_INFO_KIND, "bridge");
  m.endNested(info);
  TRY(request(m, fmt::format("create bridge {}", spec.name)));
  TRY_ASSIGN(LinkInfo l, link(spec.name));
  return l.index;
}

Result<int> Rtnl::createVeth(const VethSpec& spec) {
  TRY(checkName(spec.hostName));
  TRY(checkName(spec.peerName));
  auto hdr = linkHeader(0, spec.hostUp);
  NlMessage m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &hdr, sizeof hdr);
  m.putString(IFLA_IFNAME, spec.hostName);
  if (spec.mtu) m.putU32(IFLA_MTU, spec.mtu);
  if (spec.masterIndex) m.putU32(IFLA_MASTER, static_cast<std::uint32_t>(spec.masterIndex));
  auto info = m.beginNested(IFLA_LINKINFO);
  m.putString(IFLA_INFO_KIND, "veth");
  auto data = m.beginNested(IFLA_INFO_DATA);
  auto peer = m.beginNested(VETH_INFO_PEER);
  auto peerHdr = linkHeader();
  m.putRaw(&peerHdr, sizeof peerHdr);
  m.putString(IFLA_IFNAME, spec.peerName);
  if (spec.mtu) m.putU32(IFLA_MTU, spec.mtu);
  if (spec.peerMac) m.put(IFLA_ADDRESS, spec.peerMac->data(), 6);
  if (spec.peerNetnsFd >= 0) m.putU32(IFLA_NET_NS_FD, static_cast<std::uint32_t>(spec.peerNetnsFd));
  m.endNested(peer);
  m.endNested(data);
  m.endNested(info);
  TRY(request(m, fmt::format("create veth {}", spec.hostName)));
  TRY_ASSIGN(LinkInfo l, link(spec.hostName));
  return l.index;
}

Result<void> Rtnl::setUp(int index, bool up) {
  auto hdr = linkHeader(index);
  hdr.ifi_change = IFF_UP;
  hdr.ifi_flags = up ? IFF_UP : 0;
  NlMessage m(RTM_NEWLINK, 0, &hdr, sizeof hdr);
  return request(m, fmt::format("set link {} {}", index, up ? "up" : "down"));
}

Result<void> Rtnl::setHairpin(int index, bool on) {
  auto hdr = linkHeader(index);
  hdr.ifi_family = AF_BRIDGE;
  NlMessage m(RTM_SETLINK, 0, &hdr, sizeof hdr);
  // br_setlink parses IFLA_PROTINFO as port attributes only with NLA_F_NESTED.
  auto at = m.beginNested(static_cast<std::uint16_t>(IFLA_PROTINFO | NLA_F_NESTED));
  std::uint8_t v = on ? 1 : 0;
  m.put(IFLA_BRPORT_MODE, &v, sizeof v);
  m.endNested(at);
  return request(m, fmt::format("set hairpin mode of link {}", index));
}

Result<void> Rtnl::addAddress(int index, const Prefix& addr, bool nodad) {
  ifaddrmsg hdr{};
  hdr.ifa_family = addr.addr.isV4() ? AF_INET : AF_INET6;
  hdr.ifa_prefixlen = static_cast<std::uint8_t>(addr.len);
  hdr.ifa_scope = RT_SCOPE_UNIVERSE;
  hdr.ifa_index = static_cast<std::uint32_t>(index);
  if (nodad && !addr.addr.isV4()) hdr.ifa_flags = IFA_F_NODAD;
  NlMessage m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &hdr, sizeof hdr);
  auto b = addr.addr.bytes();
  std::size_t n = addr.addr.isV4() ? 4 : 16;
  m.put(IFA_LOCAL, b.data(), n);
  m.put(IFA_ADDRESS, b.data(), n);
  if (addr.addr.isV4() && addr.len < 31) {
    auto bc = addr.last().bytes();
    m.put(IFA_BROADCAST, bc.data(), 4);
  }
  return request(m, fmt::format("add address {} to link {}", addr.str(), index));
}

Result<void> Rtnl::addDefaultRoute(IpAddr gateway, int index) {
  rtmsg hdr{};
  hdr.rtm_family = gateway.isV4() ? AF_INET : AF_INET6;
  hdr.rtm_table = RT_TABLE_MAIN;
  hdr.rtm_protocol = RTPROT_BOOT;
  hdr.rtm_scope = RT_SCOPE_UNIVERSE;
  hdr.rtm_type = RTN_UNICAST;
  NlMessage m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &hdr, sizeof hdr);
  auto b = gateway.bytes();
  m.put(RTA_GATEWAY, b.data(), gateway.isV4() ? 4 : 16);
  m.putU32(RTA_OIF, static_cast<std::uint32_t>(index));
  return request(m, fmt::format("add default route via {}", gateway.str()));
}

Result<void> Rtnl::deleteLink(std::string_view name) {
  TRY(checkName(name));
  auto hdr = linkHeader();
  NlMessage m(RTM_DELLINK, 0, &hdr, sizeof hdr);
  m.putString(IFLA_IFNAME, name);
  return request(m, fmt::format("delete link {}", name));
}

Result<void> Rtnl::moveLink(int index, int netnsFd) {
  auto hdr = linkHeader(index);
  NlMessage m(RTM_NEWLINK, 0, &hdr, sizeof hdr);
  m.putU32(IFLA_NET_NS_FD, static_cast<std::uint32_t>(netnsFd));
  return request(m, fmt::format("move link {} to another namespace", index));
}

}  // namespace berth::network
