#pragma once
// berth-dns's local answers: the records of one network (from its
// network::DnsConfig) and the decision, for one query, between answering it
// here and forwarding it upstream. Pure: no sockets, unit-tested.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/message.h"
#include "network/dns.h"

namespace berth::dns {

constexpr uint32_t kLocalTtl = 600;  // Docker's embedded resolver answers with 600 s

class Table {
 public:
  Table() = default;
  explicit Table(const network::DnsConfig& cfg);

  // The record of `name` (any case, trailing dot or not), or of `name`
  // without one of the search domains ("web.example.com" -> "web" when
  // "example.com" is a search domain); nullptr when unknown.
  const network::DnsRecord* find(std::string_view name) const;
  // The name a PTR query's owner ("2.0.89.10.in-addr.arpa") resolves to:
  // the first record holding that address; nullptr when none does.
  const std::string* ptr(std::string_view reverse) const;
  size_t size() const { return records_.size(); }

 private:
  std::vector<network::DnsRecord> records_;
  std::unordered_map<std::string, size_t> byName_;
  std::unordered_map<std::string, std::string> byReverse_;
  std::vector<std::string> search_;  // lower-case, no leading or trailing dot
};

enum class Action {
  Drop,     // not a query we answer at all (a response, or < 12 bytes)
  Reply,    // `reply` holds the answer to send
  Forward,  // send the query upstream
};

struct Decision {
  Action action = Action::Drop;
  std::string reply;
  size_t udpLimit = kMaxUdpPlain;  // the client's UDP size (from EDNS)
};

// Decides one query. Local names answer A/AAAA (every address of that
// family; NOERROR with no answer for a known name without one, and for other
// types of a known name), PTR for the records' addresses. Malformed queries
// get FORMERR, opcodes other than QUERY NOTIMP, anything else is Forward.
// `overUdp`: a local answer larger than the client's UDP limit is cut to
// its question with TC set.
Decision decide(const Table& table, std::string_view query, bool overUdp);

// An answer with only the header and question of `query` and `rcode`
// (SERVFAIL when no upstream answered); "" when the query has no header.
std::string errorReply(std::string_view query, Rcode rcode);

}  // namespace berth::dns
