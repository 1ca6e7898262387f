// network create / ls / inspect / rm / prune / connect / disconnect
// (engine-api: /networks), with the docker CLI 28's flags, requests, output
// and errors. The request bodies are the docker CLI's at API 1.41 (the
// version berth speaks): network create carries "CheckDuplicate": true.

#include <algorithm>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format/human.h"
#include "cli/format/template.h"
#include "cli/network_opts.h"
#include "cli/ports_format.h"
#include "common/until.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using format::Value;

int cmdNetworkCreate(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  NetworkCreateFlags o;
  o.name = args[0];
  o.driver = f.getString("driver");
  o.scope = f.getString("scope");
  o.opts = f.getList("opt");
  o.labels = f.getList("label");
  o.internal = f.getBool("internal");
  o.attachable = f.getBool("attachable");
  o.ingress = f.getBool("ingress");
  o.configOnly = f.getBool("config-only");
  o.configFrom = f.getString("config-from");
  if (f.changed("ipv4")) o.ipv4 = f.getBool("ipv4");
  if (f.changed("ipv6")) o.ipv6 = f.getBool("ipv6");
  o.ipamDriver = f.getString("ipam-driver");
  o.subnets = f.getList("subnet");
  o.ipRanges = f.getList("ip-range");
  o.gateways = f.getList("gateway");
  o.auxAddresses = f.getList("aux-address");
  o.ipamOpts = f.getList("ipam-opt");
  auto body = networkCreateBody(o);
  if (!body) {
    if (startsWith(body.error().message, "invalid argument")) {
      err(ctx, fmt::format("{}\n\nUsage:  {} [OPTIONS] NETWORK\n\nRun '{} --help' for more information\n",
                           body.error().message, ctx.path, ctx.path));
      return kExitRunFailure;
    }
    err(ctx, body.error().message + "\n");
    return kExitFailure;
  }
  auto r = ctx.client.callOk("POST", "/networks/create", body->dump(), "application/json");
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  out(ctx, (j.is_object() ? j.value("Id", "") : std::string()) + "\n");
  return 0;
}

// The default table and the item fields of docker's networkContext.
Value networkItem(const json& n, bool trunc) {
  Value i = Value::object();  // keys in sorted order: `{{json .}}` prints them so (Go map)
  i["CreatedAt"] = networkCreatedAt(n.value("Created", ""));
  i["Driver"] = n.value("Driver", "");
  std::string id = n.value("Id", "");
  i["ID"] = trunc ? format::truncateId(id) : id;
  i["IPv4"] = n.value("EnableIPv4", false) ? "true" : "false";
  i["IPv6"] = n.value("EnableIPv6", false) ? "true" : "false";
  i["Internal"] = n.value("Internal", false) ? "true" : "false";
  std::vector<std::string> labels;
  if (n.contains("Labels") && n["Labels"].is_object())
    for (auto& [k, v] : n["Labels"].items()) labels.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : ""));
  std::string joined;
  for (auto& l : labels) joined += (joined.empty() ? "" : ",") + l;
  i["Labels"] = joined;
  i["Name"] = n.value("Name", "");
  i["Scope"] = n.value("Scope", "");
  return i;
}

int cmdNetworkLs(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  auto q = filtersQuery(f.getList("filter"));
  if (!q) {
    err(ctx, q.error().message + "\n");
    return kExitRunFailure;
  }
  auto r = ctx.client.callOk("GET", "/networks" + *q);
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  std::vector<json> nets;
  if (j.is_array())
    for (auto& n : j) nets.push_back(n);
  std::stable_sort(nets.begin(), nets.end(),
                   [](const json& a, const json& b) { return naturalLess(a.value("Name", ""), b.value("Name", "")); });
  std::vector<Value> items;
  for (auto& n : nets) items.push_back(networkItem(n, !f.getBool("no-trunc")));
  std::string fmtStr = f.getString("format");
  if (fmtStr.empty() || fmtStr == "table")
    fmtStr = f.getBool("quiet") ? "{{.ID}}" : "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
  format::ExecOptions eo;
  eo.methods["Label"] = [](const Value& recv, const std::vector<Value>& a) -> Result<Value> {
    if (a.empty() || !a[0].is_string()) return makeError(Code::InvalidArgument, "Label needs a name");
    std::string key = a[0].get<std::string>();
    for (const std::string& kv : split(recv.value("Labels", ""), ',')) {
      auto eq = kv.find('=');
      if (kv.substr(0, eq) == key) return Value(eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
    return Value("");
  };
  auto text = format::formatList(fmtStr, items, networkHeaders(), eo);
  if (!text) return reportError(ctx, text.error());
  out(ctx, *text);
  return 0;
}

int cmdNetworkInspect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::vector<InspectEntry> entries;
  std::string q = Query().addIf(f.getBool("verbose"), "verbose", "true").str();
  for (const auto& a : args) {
    auto r = ctx.client.callOk("GET", "/networks/" + urlEncode(a) + q);
    entries.push_back(r ? InspectEntry{r->body, ""} : InspectEntry{"", r.error().message});
  }
  auto printed = renderInspect(entries, f.getString("format"));
  out(ctx, printed.out);
  for (auto& e : printed.errors) err(ctx, e + "\n");
  if (printed.parseError) return 64;  // docker's cli.StatusError{StatusCode: 64}
  return printed.errors.empty() ? 0 : kExitFailure;
}

int cmdNetworkRm(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  bool failed = false;
  for (const auto& a : args) {
    auto r = ctx.client.callOk("DELETE", "/networks/" + urlEncode(a));
    if (!r) {
      if (f.getBool("force") && r.error().code == Code::NotFound) continue;
      printError(ctx, r.error());
      failed = true;
      continue;
    }
    out(ctx, a + "\n");
  }
  if (failed) {
    err(ctx, "exit status 1\n");  // docker 28's cli.StatusError without a status text
    return kExitFailure;
  }
  return 0;
}

int cmdNetworkPrune(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  if (!f.getBool("force") &&
      !confirm(ctx, "WARNING! This will remove all custom networks not used by at least one container."))
    return 0;
  auto q = filtersQuery(f.getList("filter"));
  if (!q) {
    err(ctx, q.error().message + "\n");
    return kExitRunFailure;
  }
  auto r = ctx.client.callOk("POST", "/networks/prune" + *q);
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  if (j.is_object() && j.contains("NetworksDeleted") && j["NetworksDeleted"].is_array() &&
      !j["NetworksDeleted"].empty()) {
    std::string s = "Deleted Networks:\n";
    for (auto& n : j["NetworksDeleted"]) s += (n.is_string() ? n.get<std::string>() : "") + "\n";
    out(ctx, s + "\n");
  }
  return 0;
}

int cmdNetworkConnect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  NetworkConnectFlags o;
  o.ipv4 = f.getString("ip");
  o.ipv6 = f.getString("ip6");
  o.links = f.getList("link");
  o.aliases = f.getList("alias");
  o.linkLocalIps = f.getList("link-local-ip");
  o.driverOpts = f.getList("driver-opt");
  o.gwPriority = f.getInt("gw-priority");
  auto body = networkConnectBody(args[1], o);
  if (!body) {
    if (startsWith(body.error().message, "invalid argument")) {
      err(ctx, fmt::format("{}\n\nUsage:  {} [OPTIONS] NETWORK CONTAINER\n\nRun '{} --help' for more information\n",
                           body.error().message, ctx.path, ctx.path));
      return kExitRunFailure;
    }
    err(ctx, body.error().message + "\n");
    return kExitFailure;
  }
  auto r = ctx.client.callOk("POST", "/networks/" + urlEncode(args[0]) + "/connect", body->dump(), "application/json");
  if (!r) return reportError(ctx, r.error());
  return 0;
}

int cmdNetworkDisconnect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  ojson body = {{"Container", args[1]}, {"Force", f.getBool("force")}};
  auto r =
      ctx.client.callOk("POST", "/networks/" + urlEncode(args[0]) + "/disconnect", body.dump(), "application/json");
  if (!r) return reportError(ctx, r.error());
  return 0;
}

void flagsNetworkCreate(FlagSet& f) {
  f.addBool("attachable", 0, "Enable manual container attachment");
  f.addList("aux-address", 0, "Auxiliary IPv4 or IPv6 addresses used by Network driver", "map");
  f.setDefaultText("aux-address", "map[]");
  f.addString("config-from", 0, "The network from which to copy the configuration");
  f.addBool("config-only", 0, "Create a configuration only network");
  f.addString("driver", 'd', "Driver to manage the Network", "bridge");
  f.addList("gateway", 0, "IPv4 or IPv6 Gateway for the master subnet", "strings");
  f.addBool("ingress", 0, "Create swarm routing-mesh network");
  f.addBool("internal", 0, "Restrict external access to the network");
  f.addList("ip-range", 0, "Allocate container ip from a sub-range", "strings");
  f.addString("ipam-driver", 0, "IP Address Management Driver", "default");
  f.addList("ipam-opt", 0, "Set IPAM driver specific options", "map");
  f.setDefaultText("ipam-opt", "map[]");
  f.addBool("ipv4", 0, "Enable or disable IPv4 address assignment", true);
  f.addBool("ipv6", 0, "Enable or disable IPv6 address assignment");
  f.addList("label", 0, "Set metadata on a network");
  f.addList("opt", 'o', "Set driver specific options", "map");
  f.setDefaultText("opt", "map[]");
  f.addString("scope", 0, "Control the network's scope");
  f.addList("subnet", 0, "Subnet in CIDR format that represents a network segment", "strings");
}
void flagsNetworkLs(FlagSet& f) {
  f.addList("filter", 'f', "Provide filter values (e.g. \"driver=bridge\")", "filter");
  f.addString("format", 0, formatFlagHelp(true));
  f.addBool("no-trunc", 0, "Do not truncate the output");
  f.addBool("quiet", 'q', "Only display network IDs");
}
void flagsNetworkInspect(FlagSet& f) {
  f.addString("format", 'f', formatFlagHelp(false));
  f.addBool("verbose", 'v', "Verbose output for diagnostics");
}
void flagsNetworkRm(FlagSet& f) { f.addBool("force", 'f', "Do not error if the network does not exist"); }
void flagsNetworkPrune(FlagSet& f) {
  f.addList("filter", 0, "Provide filter values (e.g. \"until=<timestamp>\")", "filter");
  f.addBool("force", 'f', "Do not prompt for confirmation");
}
void flagsNetworkConnect(FlagSet& f) {
  f.addList("alias", 0, "Add network-scoped alias for the container", "strings");
  f.addList("driver-opt", 0, "driver options for the network", "strings");
  f.addInt("gw-priority", 0, "Highest gw-priority provides the default gateway. Accepts positive and negative values.");
  f.addString("ip", 0, "IPv4 address (e.g., \"172.30.100.104\")");
  f.addString("ip6", 0, "IPv6 address (e.g., \"2001:db8::33\")");
  f.addList("link", 0, "Add link to another container");
  f.addList("link-local-ip", 0, "Add a link-local address for the container", "strings");
}
void flagsNetworkDisconnect(FlagSet& f) { f.addBool("force", 'f', "Force the container to disconnect from a network"); }

}  // namespace

std::vector<Command> networkCommands() {
  std::vector<Command> v;
  v.push_back({"network", {"create"}, {}, "[OPTIONS] NETWORK", "Create a network", ArgRule::Exact, 1, 0, true,
               flagsNetworkCreate, cmdNetworkCreate});
  v.push_back({"network", {"ls", "list"}, {}, "[OPTIONS]", "List networks", ArgRule::None, 0, 0, true, flagsNetworkLs,
               cmdNetworkLs});
  v.push_back({"network", {"inspect"}, {}, "[OPTIONS] NETWORK [NETWORK...]",
               "Display detailed information on one or more networks", ArgRule::Min, 1, 0, true, flagsNetworkInspect,
               cmdNetworkInspect});
  v.push_back({"network", {"rm", "remove"}, {}, "NETWORK [NETWORK...]", "Remove one or more networks", ArgRule::Min, 1,
               0, true, flagsNetworkRm, cmdNetworkRm});
  v.push_back({"network", {"prune"}, {}, "[OPTIONS]", "Remove all unused networks", ArgRule::None, 0, 0, true,
               flagsNetworkPrune, cmdNetworkPrune});
  v.push_back({"network", {"connect"}, {}, "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
               ArgRule::Exact, 2, 0, true, flagsNetworkConnect, cmdNetworkConnect});
  v.push_back({"network", {"disconnect"}, {}, "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
               ArgRule::Exact, 2, 0, true, flagsNetworkDisconnect, cmdNetworkDisconnect});
  return v;
}

}  // namespace berth::cli
