#include "dns/records.h"

#include <arpa/inet.h>

#include "common/util.h"

namespace berth::dns {

namespace {

std::string normalise(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  while (!name.empty() && name.front() == '.') name.remove_prefix(1);
  return toLower(name);
}

uint16_t replyFlags(const Header& q, Rcode rcode) {
  return uint16_t(kFlagQr | (q.flags & (0x7800 | kFlagRd)) | kFlagRa | rcode);
}

// Header + the first question of `query`, as parsed; false if it has none.
bool startReply(const Message& q, Builder& b) {
  if (q.questions.empty()) return true;
  return b.question(q.questions[0].name, q.questions[0].type, q.questions[0].klass);
}

}  // namespace

Table::Table(const network::DnsConfig& cfg) : records_(cfg.records) {
  for (size_t i = 0; i < records_.size(); i++) {
    auto& r = records_[i];
    r.name = normalise(r.name);
    byName_.emplace(r.name, i);  // the first record of a name wins
    for (auto* list : {&r.ipv4, &r.ipv6})
      for (auto& ip : *list) {
        std::string rev = reverseName(ip);
        if (!rev.empty()) byReverse_.emplace(std::move(rev), r.name);
      }
  }
  for (auto& d : cfg.searchDomains) {
    std::string s = normalise(d);
    if (!s.empty()) search_.push_back(std::move(s));
  }
}

const network::DnsRecord* Table::find(std::string_view name) const {
  std::string n = normalise(name);
  if (auto it = byName_.find(n); it != byName_.end()) return &records_[it->second];
  for (auto& d : search_) {
    if (n.size() > d.size() + 1 && endsWith(n, d) && n[n.size() - d.size() - 1] == '.') {
      auto it = byName_.find(n.substr(0, n.size() - d.size() - 1));
      if (it != byName_.end()) return &records_[it->second];
    }
  }
  return nullptr;
}

const std::string* Table::ptr(std::string_view reverse) const {
  auto it = byReverse_.find(normalise(reverse));
  return it == byReverse_.end() ? nullptr : &it->second;
}

std::string errorReply(std::string_view query, Rcode rcode) {
  Header h;
  if (!parseHeader(query, h)) return "";
  auto m = parse(query);
  Builder b(h.id, replyFlags(h, rcode));
  if (m && !m->questions.empty()) startReply(*m, b);
  return b.take();
}

Decision decide(const Table& table, std::string_view query, bool overUdp) {
  Decision d;
  Header h;
  if (!parseHeader(query, h) || (h.flags & kFlagQr)) return d;  // never answer an answer
  auto m = parse(query);
  if (!m) {
    d.action = Action::Reply;
    Builder b(h.id, replyFlags(h, kFormErr));
    d.reply = b.take();
    return d;
  }
  d.udpLimit = udpLimit(*m);
  if (h.opcode() != 0) {
    d.action = Action::Reply;
    d.reply = errorReply(query, kNotImp);
    return d;
  }
  if (m->questions.size() != 1) {
    d.action = Action::Reply;
    d.reply = errorReply(query, kFormErr);
    return d;
  }
  const Question& q = m->questions[0];
  if (q.klass != kClassIn) {
    d.action = Action::Forward;
    return d;
  }
  Builder b(h.id, uint16_t(replyFlags(h, kNoError) | kFlagAa));
  if (!startReply(*m, b)) {
    d.action = Action::Reply;
    d.reply = errorReply(query, kFormErr);
    return d;
  }
  if (q.type == kTypePtr) {
    const std::string* target = table.ptr(q.name);
    if (!target) {
      d.action = Action::Forward;
      return d;
    }
    std::string rdata;
    if (!encodeName(*target, rdata)) {
      d.action = Action::Forward;
      return d;
    }
    b.answerToQuestion(kTypePtr, kLocalTtl, rdata);
  } else {
    const network::DnsRecord* rec = table.find(q.name);
    if (!rec) {
      d.action = Action::Forward;
      return d;
    }
    if (q.type == kTypeA || q.type == kTypeAaaa) {
      int family = q.type == kTypeA ? AF_INET : AF_INET6;
      for (auto& ip : q.type == kTypeA ? rec->ipv4 : rec->ipv6) {
        unsigned char bytes[16];
        if (::inet_pton(family, ip.c_str(), bytes) != 1) continue;
        b.answerToQuestion(q.type, kLocalTtl,
                           std::string_view(reinterpret_cast<char*>(bytes), family == AF_INET ? 4 : 16));
      }
    }
  }
  d.action = Action::Reply;
  d.reply = b.take();
  if (overUdp && d.reply.size() > d.udpLimit) {
    Builder t(h.id, uint16_t(replyFlags(h, kNoError) | kFlagAa | kFlagTc));
    startReply(*m, t);
    d.reply = t.take();
  }
  return d;
}

}  // namespace berth::dns
