// Images: ls, inspect, tag, rm, import, save, load, pull (engine-api.md §8).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/format/human.h"
#include "cli/format/template.h"
#include "cli/registry_auth.h"
#include "cli/run_config.h"
#include "cli/stdio.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;
using Value = format::Value;

std::string goTimeString(int64_t secs) {
  time_t t = time_t(secs);
  tm lt;
  localtime_r(&t, &lt);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &lt);
  return buf;
}

// Renders one JSON-lines progress stream like docker's jsonmessage on a
// non-terminal: progress updates are skipped, "id: status" otherwise.
// Returns the in-stream error, if any; `last` receives the last status.
Result<> renderProgress(Connection& conn, int fd, bool quiet, std::string* last) {
  for (;;) {
    TRY_ASSIGN(auto line, conn.readBodyLine());
    if (!line) return {};
    if (trim(*line).empty()) continue;
    auto j = json::parse(*line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("errorDetail") || j.contains("error")) {
      std::string msg;
      if (j.contains("errorDetail") && j["errorDetail"].is_object())
        msg = j["errorDetail"].value("message", "");
      if (msg.empty() && j.contains("error") && j["error"].is_string()) msg = j["error"].get<std::string>();
      return makeError(Code::Internal, msg);
    }
    if (j.contains("stream") && j["stream"].is_string()) {
      if (!quiet) writeFd(fd, j["stream"].get<std::string>());
      continue;
    }
    std::string status = j.value("status", "");
    if (last && !status.empty()) *last = status;
    bool progress = (j.contains("progress") && j["progress"].is_string() && !j["progress"].get<std::string>().empty()) ||
                    (j.contains("progressDetail") && j["progressDetail"].is_object() &&
                     !j["progressDetail"].empty());
    if (quiet || progress || status.empty()) continue;
    std::string id = j.value("id", "");
    writeFd(fd, id.empty() ? status + "\n" : id + ": " + status + "\n");
  }
}

Result<std::string> streamError(Connection& conn, HttpResponse& head, std::string_view path) {
  auto b = conn.readAllBody();
  head.body = b ? *b : "";
  return "Error response from daemon: " + daemonMessage(head, "POST", path);
}

// ------------------------------------------------------------ images

Value imageItem(const json& img, const std::string& repo, const std::string& tag, const std::string& digest,
                bool noTrunc, int64_t now) {
  Value v = Value::object();
  auto count = [&](const char* key) {
    int64_t n = img.value(key, int64_t(-1));
    return n < 0 ? std::string("N/A") : std::to_string(n);
  };
  int64_t created = img.value("Created", int64_t(0));
  int64_t size = img.value("Size", int64_t(0));
  int64_t shared = img.value("SharedSize", int64_t(-1));
  v["Containers"] = count("Containers");
  v["CreatedAt"] = goTimeString(created);
  v["CreatedSince"] = format::timeAgo(created, now);
  v["Digest"] = digest;
  std::string id = img.value("Id", "");
  v["ID"] = noTrunc ? id : format::truncateId(id);
  v["Repository"] = repo;
  v["SharedSize"] = shared < 0 ? "N/A" : format::humanSize(shared);
  v["Size"] = format::humanSize(size);
  v["Tag"] = tag;
  v["UniqueSize"] = shared < 0 ? "N/A" : format::humanSize(size - shared);
  v["VirtualSize"] = format::humanSize4(double(img.value("VirtualSize", size)));
  return v;
}

std::vector<std::string> stringList(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (auto& s : j[key])
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

int cmdImages(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  bool noTrunc = f.getBool("no-trunc"), digests = f.getBool("digests");
  std::vector<std::string> filters = f.getList("filter");
  if (!args.empty()) filters.push_back("reference=" + args[0]);
  Query q;
  q.addIf(f.getBool("all"), "all", "1");
  if (!filters.empty()) {
    auto fj = filtersJson(filters);
    if (!fj) {
      err(ctx, fj.error().message + "\n");
      return kExitRunFailure;
    }
    q.add("filters", *fj);
  }
  auto r = ctx.client.callOk("GET", "/images/json" + q.str());
  if (!r) return reportError(ctx, r.error());
  auto list = json::parse(r->body, nullptr, false);
  std::vector<Value> items;
  if (list.is_array()) {
    for (auto& img : list) {
      auto tags = stringList(img, "RepoTags");
      auto digs = stringList(img, "RepoDigests");
      auto digestFor = [&](const std::string& repo) {
        for (auto& d : digs) {
          auto at = d.find('@');
          if (at != std::string::npos && d.substr(0, at) == repo) return d.substr(at + 1);
        }
        return std::string("<none>");
      };
      bool any = false;
      std::set<std::string> tagRepos;
      for (auto& t : tags) {
        if (t == "<none>:<none>") continue;
        auto colon = t.rfind(':');
        std::string repo = t.substr(0, colon), tag = colon == std::string::npos ? "" : t.substr(colon + 1);
        // docker fills Digest only with --digests
        items.push_back(imageItem(img, repo, tag, digests ? digestFor(repo) : "<none>", noTrunc, ctx.nowSeconds));
        tagRepos.insert(repo);
        any = true;
      }
      // Repositories known only by digest get their own "<none>" tag rows (as docker's formatter does).
      for (auto& d : digs) {
        if (d == "<none>@<none>") continue;
        auto at = d.find('@');
        if (at == std::string::npos || tagRepos.count(d.substr(0, at))) continue;
        items.push_back(imageItem(img, d.substr(0, at), "<none>", d.substr(at + 1), noTrunc, ctx.nowSeconds));
        any = true;
      }
      if (!any) items.push_back(imageItem(img, "<none>", "<none>", "<none>", noTrunc, ctx.nowSeconds));
    }
  }
  std::string fmtStr = f.getString("format");
  if (f.getBool("quiet")) {
    fmtStr = "{{.ID}}";
  } else if (fmtStr.empty() || fmtStr == "table") {
    fmtStr = digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                     : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  }
  auto text = format::formatList(fmtStr, items, format::imageHeaders());
  if (!text) return reportError(ctx, text.error());
  out(ctx, *text);
  return 0;
}

int cmdImageInspect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (const auto& a : args) paths.push_back("/images/" + a + "/json");
  return inspectPaths(ctx, paths, f.getString("format"));
}

int cmdTag(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  auto ref = normalizeRef(args[1]);
  if (!ref) {
    err(ctx, fmt::format("Error parsing reference: \"{}\" is not a valid repository/tag: {}\n", args[1],
                         ref.error().message));
    return kExitFailure;
  }
  if (args[1].find('@') != std::string::npos) {
    err(ctx, "refusing to create a tag with a digest reference\n");
    return kExitFailure;
  }
  auto r = ctx.client.callOk("POST", "/images/" + args[0] + "/tag" +
                                         Query().add("repo", ref->repo).add("tag", ref->tag).str());
  if (!r) return reportError(ctx, r.error());
  return 0;
}

int cmdRmi(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  Query q;
  q.addIf(f.getBool("force"), "force", "1");
  q.addIf(f.getBool("no-prune"), "noprune", "1");
  int rc = 0;
  for (const auto& a : args) {
    auto r = ctx.client.callOk("DELETE", "/images/" + a + q.str());
    if (!r) {
      printError(ctx, r.error());
      rc = 1;
      continue;
    }
    auto j = json::parse(r->body, nullptr, false);
    if (j.is_array())
      for (auto& e : j) {
        if (e.contains("Untagged")) out(ctx, "Untagged: " + e.value("Untagged", "") + "\n");
        if (e.contains("Deleted")) out(ctx, "Deleted: " + e.value("Deleted", "") + "\n");
      }
  }
  return rc;
}

// ------------------------------------------------------------ history

const std::map<std::string, std::string>& historyHeaders() {
  static const std::map<std::string, std::string> m = {
      {"ID", "IMAGE"},        {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"},
      {"CreatedBy", "CREATED BY"}, {"Size", "SIZE"},      {"Comment", "COMMENT"}};
  return m;
}

// Go's time.RFC3339 in local time ("2024-05-01T10:20:30+02:00").
std::string rfc3339Local(int64_t secs) {
  time_t t = time_t(secs);
  tm lt;
  localtime_r(&t, &lt);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &lt);
  std::string s = buf;
  if (lt.tm_gmtoff == 0) return s.substr(0, s.size() - 5) + "Z";
  return s.insert(s.size() - 2, ":");
}

int cmdHistory(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  auto r = ctx.client.callOk("GET", "/images/" + args[0] + "/history");
  if (!r) return reportError(ctx, r.error());
  bool human = f.getBool("human"), trunc = !f.getBool("no-trunc");
  auto list = json::parse(r->body, nullptr, false);
  std::vector<Value> items;
  if (list.is_array()) {
    for (auto& h : list) {
      Value v = Value::object();
      std::string id = h.value("Id", "");
      v["ID"] = trunc && id.starts_with("sha256:") ? format::truncateId(id) : id;
      int64_t created = h.value("Created", int64_t(0));
      v["CreatedAt"] = rfc3339Local(created);
      v["CreatedSince"] = human ? format::timeAgo(created, ctx.nowSeconds) : rfc3339Local(created);
      std::string by = h.value("CreatedBy", "");
      std::replace(by.begin(), by.end(), '\t', ' ');
      v["CreatedBy"] = trunc ? format::ellipsis(by, 45) : by;
      int64_t size = h.value("Size", int64_t(0));
      v["Size"] = human ? format::humanSize(size) : std::to_string(size);
      v["Comment"] = h.value("Comment", "");
      items.push_back(std::move(v));
    }
  }
  std::string fmtStr = f.getString("format");
  if (f.getBool("quiet"))
    fmtStr = "{{.ID}}";
  else if (fmtStr.empty() || fmtStr == "table")
    fmtStr = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
  auto text = format::formatList(fmtStr, items, historyHeaders());
  if (!text) return reportError(ctx, text.error());
  out(ctx, *text);
  return 0;
}

// ------------------------------------------------------------ prune

int cmdImagePrune(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  bool all = f.getBool("all");
  std::vector<std::string> filters = f.getList("filter");
  if (all) filters.push_back("dangling=false");
  auto fj = filtersJson(filters);
  if (!fj) {
    err(ctx, fj.error().message + "\n");
    return kExitRunFailure;
  }
  if (!f.getBool("force") &&
      !confirm(ctx, all ? "WARNING! This will remove all images without at least one container associated to them."
                        : "WARNING! This will remove all dangling images.")) {
    return 0;
  }
  Query q;
  if (!filters.empty()) q.add("filters", *fj);
  auto r = ctx.client.callOk("POST", "/images/prune" + q.str());
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  int64_t reclaimed = 0;
  if (j.is_object()) {
    if (j.contains("ImagesDeleted") && j["ImagesDeleted"].is_array() && !j["ImagesDeleted"].empty()) {
      std::string text = "Deleted Images:\n";
      for (auto& e : j["ImagesDeleted"]) {
        std::string u = e.value("Untagged", "");
        text += u.empty() ? "deleted: " + e.value("Deleted", "") + "\n" : "untagged: " + u + "\n";
      }
      out(ctx, text + "\n");
    }
    if (j.contains("SpaceReclaimed") && j["SpaceReclaimed"].is_number()) reclaimed = j["SpaceReclaimed"].get<int64_t>();
  }
  out(ctx, "Total reclaimed space: " + format::humanSize(reclaimed) + "\n");
  return 0;
}

int cmdImport(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  const std::string& src = args[0];
  Query q;
  for (auto& c : f.getList("change")) q.add("changes", c);
  bool url = startsWith(src, "http://") || startsWith(src, "https://");
  q.add("fromSrc", url ? src : "-");
  q.addIf(!f.getString("message").empty(), "message", f.getString("message"));
  q.addIf(!f.getString("platform").empty(), "platform", f.getString("platform"));
  if (args.size() > 1) {
    auto ref = normalizeRef(args[1]);
    if (!ref) return reportError(ctx, ref.error());
    q.add("repo", args[1]);
  }
  int fd = ctx.in;
  UniqueFd file;
  if (!url && src != "-") {
    file.reset(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {
      err(ctx, fmt::format("open {}: {}\n", src, std::strerror(errno)));
      return kExitFailure;
    }
    fd = file.get();
  }
  Result<std::pair<std::unique_ptr<Connection>, HttpResponse>> s =
      url ? ctx.client.stream("POST", "/images/create" + q.str(), "", "text/plain")
          : ctx.client.upload("POST", "/images/create" + q.str(), fd, "text/plain");
  if (!s) return reportError(ctx, s.error());
  auto& [conn, head] = *s;
  if (head.status != 200) {
    err(ctx, *streamError(*conn, head, "/images/create") + "\n");
    return kExitFailure;
  }
  // import prints the status text (the new image ID) as sent.
  for (;;) {
    auto line = conn->readBodyLine();
    if (!line) return reportError(ctx, line.error());
    if (!*line) break;
    auto j = json::parse(**line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("error") || j.contains("errorDetail")) {
      std::string msg = j.value("error", "");
      if (j.contains("errorDetail") && j["errorDetail"].is_object())
        msg = j["errorDetail"].value("message", msg);
      err(ctx, msg + "\n");
      return kExitFailure;
    }
    if (j.contains("status") && j["status"].is_string()) out(ctx, j["status"].get<std::string>() + "\n");
  }
  return 0;
}

int cmdPull(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  auto ref = normalizeRef(args[0]);
  if (!ref) return reportError(ctx, ref.error());
  bool quiet = f.getBool("quiet");
  bool all = f.getBool("all-tags");
  std::string arg = args[0];
  if (all) {
    bool explicitTag = arg.find('@') != std::string::npos ||
                       arg.substr(arg.rfind('/') == std::string::npos ? 0 : arg.rfind('/')).find(':') != std::string::npos;
    if (explicitTag) {
      err(ctx, "tag can't be used with --all-tags/-a\n");
      return kExitFailure;
    }
  } else if (arg.find('@') == std::string::npos &&
             arg.substr(arg.rfind('/') == std::string::npos ? 0 : arg.rfind('/')).find(':') == std::string::npos &&
             !quiet) {
    out(ctx, "Using default tag: latest\n");
  }
  auto r = pullImage(ctx, args[0], ctx.out, quiet, f.getString("platform"), all);
  if (!r) return reportError(ctx, r.error());
  bool digest = startsWith(ref->tag, "sha256:");
  if (all) {
    out(ctx, ref->repo + "\n");
  } else {
    out(ctx, ref->repo + (digest ? "@" : ":") + ref->tag + "\n");
  }
  return 0;
}

int cmdPush(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  auto ref = normalizeRef(args[0]);
  if (!ref) return reportError(ctx, ref.error());
  if (startsWith(ref->tag, "sha256:")) {
    err(ctx, "invalid reference format: cannot push a digest reference\n");
    return kExitFailure;
  }
  bool quiet = f.getBool("quiet");
  bool all = f.getBool("all-tags");
  std::string arg = args[0];
  bool explicitTag = arg.substr(arg.rfind('/') == std::string::npos ? 0 : arg.rfind('/')).find(':') != std::string::npos;
  if (all && explicitTag) {
    err(ctx, "tag can't be used with --all-tags/-a\n");
    return kExitFailure;
  }
  if (!all && !explicitTag && !quiet) out(ctx, "Using default tag: latest\n");
  std::string domain = ref->repo.substr(0, ref->repo.find('/'));
  Query q;
  if (!all) q.add("tag", ref->tag);
  std::string path = "/images/" + ref->repo + "/push" + q.str();
  auto s = ctx.client.stream("POST", path, "", "", {{"X-Registry-Auth", registryAuthHeader(domain)}});
  if (!s) return reportError(ctx, s.error());
  auto& [conn, head] = *s;
  if (head.status != 200) {
    auto msg = streamError(*conn, head, path);
    err(ctx, (msg ? *msg : msg.error().message) + "\n");
    return kExitFailure;
  }
  auto r = renderProgress(*conn, ctx.out, quiet, nullptr);
  if (!r) return reportError(ctx, r.error());
  if (quiet) out(ctx, familiarName(ref->repo) + (all ? "" : ":" + ref->tag) + "\n");
  return 0;
}

void flagsPush(FlagSet& f) {
  f.addBool("all-tags", 'a', "Push all tags of an image to the repository");
  f.addBool("disable-content-trust", 0, "Skip image signing", true);
  f.addString("platform", 0, "Push a platform-specific manifest as a single-platform image to the registry.");
  f.addBool("quiet", 'q', "Suppress verbose output");
}


int cmdSave(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  std::string output = f.getString("output");
  if (output.empty() && isTerminal(ctx.out)) {
    err(ctx, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    return kExitFailure;
  }
  Query q;
  for (auto& a : args) q.add("names", a);
  auto conn = openGetStream(ctx, "/images/get" + q.str(), "/images/get");
  if (!conn) return kExitFailure;
  int fd = ctx.out;
  UniqueFd file;
  std::string tmp;
  if (!output.empty()) {
    // Like docker: a temp file beside the target, renamed when complete.
    auto slash = output.rfind('/');
    std::string dir = slash == std::string::npos ? "." : output.substr(0, slash + 1);
    tmp = (slash == std::string::npos ? std::string() : dir) + ".docker_temp_" + randomHexId().substr(0, 12);
    file.reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!file) {
      err(ctx, fmt::format("failed to save image: unable to create temporary file for copying: {}\n",
                           std::strerror(errno)));
      return kExitFailure;
    }
    fd = file.get();
  }
  ScopeExit dropTmp([&] {
    if (!tmp.empty()) ::unlink(tmp.c_str());
  });
  std::vector<char> buf(1 << 17);
  for (;;) {
    auto n = conn->readBody(buf.data(), buf.size());
    if (!n) {
      err(ctx, "failed to save image: " + n.error().message + "\n");
      return kExitFailure;
    }
    if (*n == 0) break;
    std::string_view data(buf.data(), *n);
    while (!data.empty()) {
      ssize_t k = ::write(fd, data.data(), data.size());
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) {
        err(ctx, fmt::format("failed to save image: write: {}\n", std::strerror(errno)));
        return kExitFailure;
      }
      data.remove_prefix(size_t(k));
    }
  }
  if (!tmp.empty()) {
    if (::fsync(fd) != 0 || ::rename(tmp.c_str(), output.c_str()) != 0) {
      err(ctx, fmt::format("failed to save image: {}\n", std::strerror(errno)));
      return kExitFailure;
    }
    tmp.clear();
  }
  return 0;
}

int cmdLoad(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  std::string input = f.getString("input");
  int fd = ctx.in;
  UniqueFd file;
  if (!input.empty()) {
    file.reset(::open(input.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {
      err(ctx, fmt::format("open {}: {}\n", input, std::strerror(errno)));
      return kExitFailure;
    }
    fd = file.get();
  } else if (isTerminal(ctx.in)) {
    err(ctx, "requested load from stdin, but stdin is empty\n");
    return kExitFailure;
  }
  bool quiet = f.getBool("quiet") || !isTerminal(ctx.out);
  auto s = ctx.client.upload("POST", "/images/load" + Query().add("quiet", quiet ? "1" : "0").str(), fd,
                             "application/x-tar");
  if (!s) return reportError(ctx, s.error());
  auto& [conn, head] = *s;
  if (head.status != 200) {
    err(ctx, *streamError(*conn, head, "/images/load") + "\n");
    return kExitFailure;
  }
  auto r = renderProgress(*conn, ctx.out, false, nullptr);
  if (!r) return reportError(ctx, r.error());
  return 0;
}

void flagsImages(FlagSet& f) {
  f.addBool("all", 'a', "Show all images (default hides intermediate images)");
  f.addBool("digests", 0, "Show digests");
  f.addList("filter", 'f', "Filter output based on conditions provided", "filter");
  f.addString("format", 0, formatFlagHelp(true));
  f.addBool("no-trunc", 0, "Don't truncate output");
  f.addBool("quiet", 'q', "Only show image IDs");
  f.addBool("tree", 0, "List multi-platform images as a tree (EXPERIMENTAL)");
}
void flagsImageInspect(FlagSet& f) {
  f.addString("format", 'f', formatFlagHelp(false));
  f.addString("platform", 0,
              "Inspect a specific platform of the multi-platform image.\nIf the image or the server is not "
              "multi-platform capable, the command will error out if the platform does not match.\n"
              "'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)");
}
void flagsRmi(FlagSet& f) {
  f.addBool("force", 'f', "Force removal of the image");
  f.addBool("no-prune", 0, "Do not delete untagged parents");
  f.addList("platform", 0,
            "Remove only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")",
            "strings");
}
void flagsHistory(FlagSet& f) {
  f.addString("format", 0, formatFlagHelp(true));
  f.addBool("human", 'H', "Print sizes and dates in human readable format", true);
  f.addBool("no-trunc", 0, "Don't truncate output");
  f.addString("platform", 0, "Show history for the given platform. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")");
  f.addBool("quiet", 'q', "Only show image IDs");
}
void flagsImagePrune(FlagSet& f) {
  f.addBool("all", 'a', "Remove all unused images, not just dangling ones");
  f.addList("filter", 0, "Provide filter values (e.g. \"until=<timestamp>\")", "filter");
  f.addBool("force", 'f', "Do not prompt for confirmation");
}
void flagsImport(FlagSet& f) {
  f.addList("change", 'c', "Apply Dockerfile instruction to the created image");
  f.addString("message", 'm', "Set commit message for imported image");
  f.addString("platform", 0, "Set platform if server is multi-platform capable");
}
void flagsSave(FlagSet& f) {
  f.addString("output", 'o', "Write to a file, instead of STDOUT");
  f.addList("platform", 0,
            "Save only the given platform(s). Formatted as a comma-separated list of \"os[/arch[/variant]]\" "
            "(e.g., \"linux/amd64,linux/arm64/v8\")",
            "strings");
}
void flagsLoad(FlagSet& f) {
  f.addString("input", 'i', "Read from tar archive file, instead of STDIN");
  f.addList("platform", 0,
            "Load only the given platform(s). Formatted as a comma-separated list of \"os[/arch[/variant]]\" "
            "(e.g., \"linux/amd64,linux/arm64/v8\")",
            "strings");
  f.addBool("quiet", 'q', "Suppress the load output");
}
void flagsPull(FlagSet& f) {
  f.addBool("all-tags", 'a', "Download all tagged images in the repository");
  f.addBool("disable-content-trust", 0, "Skip image verification", true);
  f.addString("platform", 0, "Set platform if server is multi-platform capable");
  f.addBool("quiet", 'q', "Suppress verbose output");
}

}  // namespace

Result<> pullImage(Context& ctx, const std::string& image, int progressFd, bool quiet) {
  return pullImage(ctx, image, progressFd, quiet, "", false);
}

Result<> pullImage(Context& ctx, const std::string& image, int progressFd, bool quiet, const std::string& platform,
                   bool allTags) {
  TRY_ASSIGN(ImageRef ref, normalizeRef(image));
  Query q;
  q.add("fromImage", ref.repo);
  if (!allTags) q.add("tag", ref.tag);
  if (!platform.empty()) q.add("platform", platform);
  std::string path = "/images/create" + q.str();
  std::string domain = ref.repo.substr(0, ref.repo.find('/'));
  TRY_ASSIGN(auto s, ctx.client.stream("POST", path, "", "", {{"X-Registry-Auth", registryAuthHeader(domain)}}));
  auto& [conn, head] = s;
  if (head.status != 200) {
    TRY_ASSIGN(std::string msg, streamError(*conn, head, path));
    return std::unexpected(Error{codeForStatus(head.status), 0, msg});
  }
  return renderProgress(*conn, progressFd, quiet, nullptr);
}

std::vector<Command> imageCommands() {
  std::vector<Command> v;
  v.push_back({"image", {"ls", "list"}, {"images"}, "[OPTIONS] [REPOSITORY[:TAG]]", "List images", ArgRule::Range,
               0, 1, true, flagsImages, cmdImages});
  v.push_back({"image", {"inspect"}, {}, "[OPTIONS] IMAGE [IMAGE...]",
               "Display detailed information on one or more images", ArgRule::Min, 1, 0, true, flagsImageInspect,
               cmdImageInspect});
  v.push_back({"image", {"tag"}, {"tag"}, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
               "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", ArgRule::Exact, 2, 0, true, nullptr, cmdTag});
  v.push_back({"image", {"rm", "remove"}, {"rmi"}, "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
               ArgRule::Min, 1, 0, true, flagsRmi, cmdRmi});
  v.push_back({"image", {"import"}, {"import"}, "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
               "Import the contents from a tarball to create a filesystem image", ArgRule::Range, 1, 2, true,
               flagsImport, cmdImport});
  v.push_back({"image", {"save"}, {"save"}, "[OPTIONS] IMAGE [IMAGE...]",
               "Save one or more images to a tar archive (streamed to STDOUT by default)", ArgRule::Min, 1, 0, true,
               flagsSave, cmdSave});
  v.push_back({"image", {"load"}, {"load"}, "[OPTIONS]", "Load an image from a tar archive or STDIN", ArgRule::None,
               0, 0, true, flagsLoad, cmdLoad});
  v.push_back({"image", {"history"}, {"history"}, "[OPTIONS] IMAGE", "Show the history of an image", ArgRule::Exact,
               1, 0, true, flagsHistory, cmdHistory});
  v.push_back({"image", {"prune"}, {}, "[OPTIONS]", "Remove unused images", ArgRule::None, 0, 0, true,
               flagsImagePrune, cmdImagePrune});
  v.push_back({"image", {"pull"}, {"pull"}, "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry",
               ArgRule::Exact, 1, 0, true, flagsPull, cmdPull});
  v.push_back({"image", {"push"}, {"push"}, "[OPTIONS] NAME[:TAG]", "Upload an image to a registry", ArgRule::Exact, 1,
               0, true, flagsPush, cmdPush});
  return v;
}

}  // namespace berth::cli
