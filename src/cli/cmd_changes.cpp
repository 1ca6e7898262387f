// diff, commit, export and system df.

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format/human.h"
#include "cli/format/table.h"
#include "cli/stdio.h"
#include "common/fd.h"
#include "common/util.h"

namespace berth::cli {

using json = nlohmann::json;

namespace {

Result<json> getJson(Context& ctx, const std::string& path) {
  TRY_ASSIGN(auto r, ctx.client.callOk("GET", path));
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return makeError(Code::Internal, "invalid JSON from daemon");
  return j;
}

int cmdDiff(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  auto j = getJson(ctx, "/containers/" + urlEncode(args[0]) + "/changes");
  if (!j) return reportError(ctx, j.error());
  std::string s;
  if (j->is_array())
    for (auto& c : *j) {
      int k = c.value("Kind", 0);
      s += fmt::format("{} {}\n", k == 1 ? 'A' : k == 2 ? 'D' : 'C', c.value("Path", ""));
    }
  out(ctx, s);
  return 0;
}

int cmdCommit(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  Query q;
  q.add("container", args[0]);
  if (args.size() > 1) {
    std::string ref = args[1], tag;
    auto colon = ref.rfind(':');
    auto slash = ref.rfind('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      tag = ref.substr(colon + 1);
      ref = ref.substr(0, colon);
    }
    q.add("repo", ref);
    q.addIf(!tag.empty(), "tag", tag);
  }
  q.addIf(!f.getString("author").empty(), "author", f.getString("author"));
  for (auto& c : f.getList("change")) q.add("changes", c);
  q.addIf(!f.getString("message").empty(), "comment", f.getString("message"));
  q.addIf(!f.getBool("pause"), "pause", "0");
  auto r = ctx.client.callOk("POST", "/commit" + q.str(), "{}", "application/json");
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  out(ctx, (j.is_object() ? j.value("Id", "") : std::string()) + "\n");
  return 0;
}

int cmdExport(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::string file = f.getString("output");
  int fd = ctx.out;
  UniqueFd owned;
  if (file.empty()) {
    if (isTerminal(ctx.out)) {
      err(ctx, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
      return kExitFailure;
    }
  }
  auto conn = openGetStream(ctx, "/containers/" + urlEncode(args[0]) + "/export", "/containers/export");
  if (!conn) return kExitFailure;
  if (!file.empty()) {
    owned.reset(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!owned) {
      err(ctx, fmt::format("failed to export container: open {}: {}\n", file, std::strerror(errno)));
      return kExitFailure;
    }
    fd = owned.get();
  }
  std::vector<char> buf(1 << 17);
  for (;;) {
    auto n = conn->readBody(buf.data(), buf.size());
    if (!n) return reportError(ctx, n.error());
    if (*n == 0) break;
    size_t off = 0;
    while (off < *n) {
      ssize_t w = ::write(fd, buf.data() + off, *n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        err(ctx, fmt::format("failed to export container: {}\n", std::strerror(errno)));
        return kExitFailure;
      }
      off += size_t(w);
    }
  }
  return 0;
}

std::string withPercent(int64_t reclaimable, int64_t total) {
  if (total > 0) return fmt::format("{} ({}%)", format::humanSize4(double(reclaimable)), reclaimable * 100 / total);
  return format::humanSize4(double(reclaimable));
}

int cmdSystemDf(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  auto j = getJson(ctx, "/system/df");
  if (!j) return reportError(ctx, j.error());
  const json& images = (*j)["Images"];
  const json& containers = (*j)["Containers"];
  int64_t layers = j->value("LayersSize", int64_t(0));
  int imgActive = 0;
  int64_t used = 0;
  for (auto& i : images) {
    if (i.value("Containers", 0) == 0) continue;
    imgActive++;
    int64_t sz = i.value("Size", int64_t(-1)), sh = i.value("SharedSize", int64_t(-1));
    if (sz != -1 && sh != -1) used += sz - sh;
  }
  int cActive = 0;
  int64_t cSize = 0, cReclaim = 0;
  for (auto& c : containers) {
    std::string st = c.value("State", "");
    int64_t rw = c.value("SizeRw", int64_t(0));
    cSize += rw;
    if (st == "running" || st == "paused" || st == "restarting") {
      cActive++;
    } else {
      cReclaim += rw;
    }
  }
  const json volumes = j->contains("Volumes") && (*j)["Volumes"].is_array() ? (*j)["Volumes"] : json::array();
  int vActive = 0;
  int64_t vSize = 0, vReclaim = 0;
  for (auto& v : volumes) {
    json u = v.value("UsageData", json::object());
    int64_t sz = u.is_object() ? u.value("Size", int64_t(-1)) : -1;
    int64_t refs = u.is_object() ? u.value("RefCount", int64_t(0)) : 0;
    if (refs > 0) vActive++;
    if (sz > 0) {
      vSize += sz;
      if (refs == 0) vReclaim += sz;
    }
  }
  // Build cache, as docker's formatter sums it: shared records count once
  // (not at all here), in-use ones are not reclaimable.
  const json cache = j->contains("BuildCache") && (*j)["BuildCache"].is_array() ? (*j)["BuildCache"] : json::array();
  int bActive = 0;
  int64_t bSize = 0, bInUse = 0;
  for (auto& b : cache) {
    bool inUse = b.value("InUse", false), shared = b.value("Shared", false);
    int64_t sz = b.value("Size", int64_t(0));
    if (inUse) bActive++;
    if (!shared) bSize += sz;
    if (inUse && !shared) bInUse += sz;
  }
  if (!f.getBool("verbose")) {
    format::Table t;
    t.addRow({"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"});
    t.addRow({"Images", std::to_string(images.size()), std::to_string(imgActive), format::humanSize4(double(layers)),
              withPercent(layers - used, layers)});
    t.addRow({"Containers", std::to_string(containers.size()), std::to_string(cActive),
              format::humanSize4(double(cSize)), withPercent(cReclaim, cSize)});
    t.addRow({"Local Volumes", std::to_string(volumes.size()), std::to_string(vActive),
              format::humanSize4(double(vSize)), withPercent(vReclaim, vSize)});
    t.addRow({"Build Cache", std::to_string(cache.size()), std::to_string(bActive), format::humanSize4(double(bSize)),
              format::humanSize4(double(bSize - bInUse))});
    out(ctx, t.render());
    return 0;
  }
  std::string s = "Images space usage:\n\n";
  format::Table ti;
  ti.addRow({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"});
  for (auto& i : images) {
    std::string id = i.value("Id", "");
    if (startsWith(id, "sha256:")) id = id.substr(7);
    id = id.substr(0, 12);
    std::vector<std::string> tags;
    if (i["RepoTags"].is_array())
      for (auto& t : i["RepoTags"]) tags.push_back(t.get<std::string>());
    if (tags.empty()) tags.push_back("<none>:<none>");
    int64_t sz = i.value("Size", int64_t(0)), sh = i.value("SharedSize", int64_t(0));
    for (auto& t : tags) {
      auto colon = t.rfind(':');
      ti.addRow({t.substr(0, colon), colon == std::string::npos ? "<none>" : t.substr(colon + 1), id,
                 format::timeAgo(i.value("Created", int64_t(0)), ctx.nowSeconds), format::humanSize4(double(sz)),
                 format::humanSize4(double(sh)), format::humanSize4(double(sz - sh)),
                 std::to_string(i.value("Containers", 0))});
    }
  }
  s += ti.render() + "\nContainers space usage:\n\n";
  format::Table tc;
  tc.addRow({"CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"});
  for (auto& c : containers) {
    std::string cmd = c.value("Command", "");
    if (cmd.size() > 19) cmd = cmd.substr(0, 19) + "…";
    std::string name = c["Names"].is_array() && !c["Names"].empty() ? c["Names"][0].get<std::string>() : "";
    if (startsWith(name, "/")) name = name.substr(1);
    int localVolumes = 0;
    if (c.contains("Mounts") && c["Mounts"].is_array())
      for (auto& m : c["Mounts"]) localVolumes += m.value("Type", "") == "volume";
    tc.addRow({c.value("Id", "").substr(0, 12), c.value("Image", ""), "\"" + cmd + "\"", std::to_string(localVolumes),
               format::humanSize4(double(c.value("SizeRw", int64_t(0)))),
               format::timeAgo(c.value("Created", int64_t(0)), ctx.nowSeconds), c.value("Status", ""), name});
  }
  s += tc.render() + "\nLocal Volumes space usage:\n\n";
  format::Table tv;
  tv.addRow({"VOLUME NAME", "LINKS", "SIZE"});
  for (auto& v : volumes) {
    json u = v.value("UsageData", json::object());
    int64_t sz = u.is_object() ? u.value("Size", int64_t(-1)) : -1;
    tv.addRow({v.value("Name", ""), std::to_string(u.is_object() ? u.value("RefCount", int64_t(0)) : 0),
               sz < 0 ? std::string("N/A") : format::humanSize(sz)});
  }
  s += tv.render() + "\nBuild cache usage: " + format::humanSize4(double(bSize)) + "\n\n";
  format::Table tb;
  tb.addRow({"CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"});
  for (auto& b : cache) {
    auto ago = [&](const char* key) {
      auto t = parseRfc3339(b.value(key, ""));
      return t ? format::timeAgo(*t / 1000000000, ctx.nowSeconds) : std::string();
    };
    tb.addRow({b.value("ID", "").substr(0, 12), b.value("Type", ""), format::humanSize4(double(b.value("Size", int64_t(0)))),
               ago("CreatedAt"), ago("LastUsedAt"), std::to_string(b.value("UsageCount", 0)),
               b.value("Shared", false) ? "true" : "false"});
  }
  s += tb.render();
  out(ctx, s);
  return 0;
}

void flagsCommit(FlagSet& f) {
  f.addString("author", 'a', "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")");
  f.addList("change", 'c', "Apply Dockerfile instruction to the created image");
  f.addString("message", 'm', "Commit message");
  f.addBool("pause", 'p', "Pause container during commit", true);
}
void flagsExport(FlagSet& f) { f.addString("output", 'o', "Write to a file, instead of STDOUT"); }
void flagsDf(FlagSet& f) {
  f.addString("format", 0, formatFlagHelp(true));
  f.addBool("verbose", 'v', "Show detailed information on space usage");
}

}  // namespace

std::vector<Command> changesCommands() {
  std::vector<Command> v;
  v.push_back({"container", {"diff"}, {"diff"}, "CONTAINER",
               "Inspect changes to files or directories on a container's filesystem", ArgRule::Exact, 1, 0, true,
               nullptr, cmdDiff});
  v.push_back({"container", {"commit"}, {"commit"}, "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
               "Create a new image from a container's changes", ArgRule::Range, 1, 2, true, flagsCommit, cmdCommit});
  v.push_back({"container", {"export"}, {"export"}, "[OPTIONS] CONTAINER",
               "Export a container's filesystem as a tar archive", ArgRule::Exact, 1, 0, true, flagsExport,
               cmdExport});
  v.push_back({"system", {"df"}, {}, "[OPTIONS]", "Show berth disk usage", ArgRule::None, 0, 0, true, flagsDf,
               cmdSystemDf});
  return v;
}

}  // namespace berth::cli
