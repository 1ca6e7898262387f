// docker manifest: inspect, create, annotate, push, rm. As in docker, the
// CLI talks to the registry itself (registry::Client over the lazily loaded
// libcurl) and keeps local lists under $DOCKER_CONFIG/manifests
// (cli/manifest_store.h) in docker's layout.

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/manifest_store.h"
#include "cli/registry_auth.h"
#include "cli/run_config.h"
#include "common/util.h"
#include "registry/client.h"
#include "registry/manifest.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;

struct Ref {
  std::string domain, path, tag;  // tag may be a digest
  std::string repo() const { return domain + "/" + path; }
  std::string string() const { return repo() + (startsWith(tag, "sha256:") ? "@" : ":") + tag; }
};

Result<Ref> parseRef(const std::string& s) {
  TRY_ASSIGN(ImageRef r, normalizeRef(s));
  Ref out;
  auto slash = r.repo.find('/');
  out.domain = r.repo.substr(0, slash);
  out.path = r.repo.substr(slash + 1);
  out.tag = r.tag.empty() ? "latest" : r.tag;
  return out;
}

int fail(Context& ctx, const std::string& msg) {
  err(ctx, msg + "\n");
  return kExitError;
}

std::unique_ptr<registry::Client> makeClient(const Ref& r, bool insecure) {
  StoredAuth a = loadAuth(r.domain);
  registry::Credentials c;
  c.username = a.username;
  c.password = a.password;
  c.serverAddress = a.serverAddress;
  bool ins = insecure || registry::isInsecureRegistry(registry::RegistryConfig{}, r.domain);
  return std::make_unique<registry::Client>(r.domain, c, ins);
}

// The remote image manifest of ref as a list entry (platform from its config).
Result<ImageManifestEntry> fetchEntry(registry::Client& cl, const Ref& r) {
  auto m = cl.getManifest(r.path, r.tag);
  if (!m && m.error().code == Code::NotFound) return errorf(Code::NotFound, "no such manifest: {}", r.string());
  if (!m) return std::unexpected(m.error());
  std::string mt = registry::detectMediaType(m->mediaType, m->body);
  if (registry::isIndexMediaType(mt)) return errorf(Code::InvalidArgument, "{} is a manifest list", r.string());
  TRY_ASSIGN(registry::Manifest man, registry::parseManifest(m->body));
  std::string config;
  TRY(cl.getBlob(r.path, man.config.digest, [&](const char* d, size_t n) -> Result<> {
    config.append(d, n);
    return {};
  }));
  auto cj = json::parse(config, nullptr, false);
  ImageManifestEntry e;
  e.ref = r.string();
  e.mediaType = mt;
  e.digest = m->digest;
  e.size = int64_t(m->body.size());
  e.raw = m->body;
  if (cj.is_object()) {
    ManifestPlatform p;
    p.os = cj.value("os", "");
    p.architecture = cj.value("architecture", "");
    p.variant = cj.value("variant", "");
    p.osVersion = cj.value("os.version", "");
    if (cj.contains("os.features") && cj["os.features"].is_array())
      for (auto& f : cj["os.features"]) if (f.is_string()) p.osFeatures.push_back(f.get<std::string>());
    e.platform = p;
  }
  return e;
}

// docker's wording when the registry does not answer its ping.
std::string transportMessage(const Error& e) {
  if (e.code == Code::Unavailable && startsWith(e.message, "Get \"") && e.message.find("/v2/\": ") != std::string::npos)
    return "failed to configure transport: error pinging v2 registry: " + e.message;
  return e.message;
}

void printJson(Context& ctx, const std::string& text) { out(ctx, indentTabs(text) + "\n"); }

std::string verboseEntry(const ImageManifestEntry& e) {
  auto j = nlohmann::ordered_json::parse(encodeEntry(e));
  return j.dump(1, '\t');
}

void printVerboseList(Context& ctx, const std::vector<ImageManifestEntry>& list) {
  std::string s = "[\n";
  for (size_t i = 0; i < list.size(); i++) {
    std::string one = verboseEntry(list[i]);
    // one level deeper inside the array
    std::string ind = "\t";
    for (char c : one) {
      ind += c;
      if (c == '\n') ind += '\t';
    }
    s += ind + (i + 1 < list.size() ? ",\n" : "\n");
  }
  out(ctx, s + "]\n");
}

int cmdInspect(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  bool verbose = f.getBool("verbose");
  std::string root = manifestsDir();
  if (args.size() == 2) {
    auto list = parseRef(args[0]);
    if (!list) return fail(ctx, list.error().message);
    auto img = parseRef(args[1]);
    if (!img) return fail(ctx, img.error().message);
    auto e = loadEntry(root, list->string(), img->string());
    if (!e) return fail(ctx, e.error().message);
    out(ctx, (verbose ? verboseEntry(*e) : indentTabs(e->raw)) + "\n");
    return 0;
  }
  auto r = parseRef(args[0]);
  if (!r) return fail(ctx, r.error().message);
  if (auto local = loadList(root, r->string())) {
    if (verbose) {
      printVerboseList(ctx, *local);
    } else {
      out(ctx, buildList(*local).second + "\n");
    }
    return 0;
  } else if (local.error().code != Code::NotFound) {
    return fail(ctx, local.error().message);
  }
  auto cl = makeClient(*r, f.getBool("insecure"));
  auto m = cl->getManifest(r->path, r->tag);
  if (!m && m.error().code == Code::NotFound) return fail(ctx, "no such manifest: " + r->string());
  if (!m) return fail(ctx, transportMessage(m.error()));
  if (registry::isIndexMediaType(registry::detectMediaType(m->mediaType, m->body))) {
    // docker rebuilds a list from its entries (and prints that)
    auto entries = entriesOfList(m->body);
    if (!entries) return fail(ctx, entries.error().message);
    if (!verbose) {
      out(ctx, buildList(*entries).second + "\n");
      return 0;
    }
    // -v: each entry fetched, as docker's []ImageManifest
    std::vector<ImageManifestEntry> full;
    for (auto& d : *entries) {
      Ref child = *r;
      child.tag = d.digest;
      auto e = fetchEntry(*cl, child);
      if (!e) return fail(ctx, transportMessage(e.error()));
      e->ref = startsWith(r->tag, "sha256:") ? child.string() : r->string() + "@" + d.digest;
      e->platform = d.platform;
      full.push_back(std::move(*e));
    }
    printVerboseList(ctx, full);
    return 0;
  }
  if (verbose) {
    auto e = fetchEntry(*cl, *r);
    if (!e) return fail(ctx, transportMessage(e.error()));
    out(ctx, verboseEntry(*e) + "\n");
    return 0;
  }
  printJson(ctx, m->body);
  return 0;
}

int cmdCreate(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  auto list = parseRef(args[0]);
  if (!list) return fail(ctx, list.error().message);
  std::string root = manifestsDir();
  auto existing = loadList(root, list->string());
  if (existing && !f.getBool("amend"))
    return fail(ctx, "refusing to amend an existing manifest list with no --amend flag");
  std::vector<Ref> refs;
  for (size_t i = 1; i < args.size(); i++) {
    auto r = parseRef(args[i]);
    if (!r) return fail(ctx, r.error().message);
    if (r->domain != list->domain)
      return fail(ctx, "cannot use source images from a different registry than the target image: " + r->domain +
                           " != " + list->domain);
    refs.push_back(*r);
  }
  auto cl = makeClient(*list, f.getBool("insecure"));
  std::vector<ImageManifestEntry> entries;
  for (auto& r : refs) {
    auto e = fetchEntry(*cl, r);
    if (!e) return fail(ctx, e.error().message);
    entries.push_back(std::move(*e));
  }
  if (!f.getBool("amend")) (void)removeList(root, list->string());
  for (auto& e : entries) {
    auto s = saveEntry(root, list->string(), e);
    if (!s) return fail(ctx, "error saving manifest: " + s.error().message);
  }
  out(ctx, "Created manifest list " + list->string() + "\n");
  return 0;
}

int cmdAnnotate(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  auto list = parseRef(args[0]);
  if (!list) return fail(ctx, list.error().message);
  auto img = parseRef(args[1]);
  if (!img) return fail(ctx, img.error().message);
  std::string root = manifestsDir();
  auto e = loadEntry(root, list->string(), img->string());
  if (!e) return fail(ctx, "manifest for image " + args[1] + " does not exist in " + args[0]);
  ManifestPlatform p = e->platform.value_or(ManifestPlatform{});
  if (f.changed("os")) p.os = f.getString("os");
  if (f.changed("arch")) p.architecture = f.getString("arch");
  if (f.changed("variant")) p.variant = f.getString("variant");
  if (f.changed("os-version")) p.osVersion = f.getString("os-version");
  if (f.changed("os-features")) p.osFeatures = f.getList("os-features");
  if (!validOsArch(p.os, p.architecture))
    return fail(ctx, "manifest entry for image has unsupported os/arch combination: " + p.os + "/" + p.architecture);
  e->platform = p;
  auto s = saveEntry(root, list->string(), *e);
  if (!s) return fail(ctx, "error saving manifest: " + s.error().message);
  return 0;
}

int cmdPush(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  auto list = parseRef(args[0]);
  if (!list) return fail(ctx, list.error().message);
  if (startsWith(list->tag, "sha256:")) return fail(ctx, "cannot push to a digest reference");
  std::string root = manifestsDir();
  auto entries = loadList(root, list->string());
  if (!entries) return fail(ctx, entries.error().message);
  auto cl = makeClient(*list, f.getBool("insecure"));
  for (auto& e : *entries) {
    auto r = parseRef(e.ref);
    if (!r) return fail(ctx, r.error().message);
    if (r->path == list->path) continue;  // already in the target repository
    // From another repository of the same registry: mount its blobs, then
    // put the manifest by digest (as docker does).
    auto m = registry::parseManifest(e.raw);
    if (!m) return fail(ctx, m.error().message);
    std::vector<std::string> blobs{m->config.digest};
    for (auto& l : m->layers) blobs.push_back(l.digest);
    for (auto& b : blobs) {
      auto has = cl->hasBlob(list->path, b);
      if (!has) return fail(ctx, has.error().message);
      if (*has) continue;
      auto mounted = cl->mountBlob(list->path, b, r->path);
      if (!mounted) return fail(ctx, mounted.error().message);
      if (!*mounted) return fail(ctx, "failed to mount blob " + b + " from " + r->repo());
    }
    auto put = cl->putManifest(list->path, e.digest, e.mediaType, e.raw);
    if (!put) return fail(ctx, put.error().message);
  }
  auto [mt, body] = buildList(*entries);
  auto dgst = cl->putManifest(list->path, list->tag, mt, body);
  if (!dgst) return fail(ctx, "failed to put manifest " + list->string() + ": " + dgst.error().message);
  out(ctx, *dgst + "\n");
  if (f.getBool("purge")) (void)removeList(root, list->string());
  return 0;
}

int cmdRm(Context& ctx, const FlagSet&, const std::vector<std::string>& args) {
  std::string root = manifestsDir();
  std::vector<std::string> errs;
  for (auto& a : args) {
    auto r = parseRef(a);
    if (!r) {
      errs.push_back(r.error().message);
      continue;
    }
    auto l = loadList(root, r->string());
    if (!l) {
      errs.push_back(l.error().message);
      continue;
    }
    auto rm = removeList(root, r->string());
    if (!rm) errs.push_back(rm.error().message);
  }
  if (errs.empty()) return 0;
  std::string msg;
  for (auto& e : errs) msg += (msg.empty() ? "" : "\n") + e;
  return fail(ctx, msg);
}

void flagsInspect(FlagSet& f) {
  f.addBool("insecure", 0, "Allow communication with an insecure registry");
  f.addBool("verbose", 'v', "Output additional info including layers and platform");
}
void flagsCreate(FlagSet& f) {
  f.addBool("amend", 'a', "Amend an existing manifest list");
  f.addBool("insecure", 0, "Allow communication with an insecure registry");
}
void flagsAnnotate(FlagSet& f) {
  f.addString("arch", 0, "Set architecture");
  f.addString("os", 0, "Set operating system");
  f.addList("os-features", 0, "Set operating system feature", "strings");
  f.addString("os-version", 0, "Set operating system version");
  f.addString("variant", 0, "Set architecture variant");
}
void flagsPush(FlagSet& f) {
  f.addBool("insecure", 0, "Allow push to an insecure registry");
  f.addBool("purge", 'p', "Remove the local manifest list after push");
}

}  // namespace

std::vector<Command> manifestCommands() {
  std::vector<Command> v;
  v.push_back({"manifest", {"inspect"}, {}, "[OPTIONS] [MANIFEST_LIST] MANIFEST",
               "Display an image manifest, or manifest list", ArgRule::Range, 1, 2, true, flagsInspect, cmdInspect});
  v.push_back({"manifest", {"create"}, {}, "MANIFEST_LIST MANIFEST [MANIFEST...]",
               "Create a local manifest list for annotating and pushing to a registry", ArgRule::Min, 2, 0, true,
               flagsCreate, cmdCreate});
  v.push_back({"manifest", {"annotate"}, {}, "[OPTIONS] MANIFEST_LIST MANIFEST",
               "Add additional information to a local image manifest", ArgRule::Exact, 2, 0, true, flagsAnnotate,
               cmdAnnotate});
  v.push_back({"manifest", {"push"}, {}, "[OPTIONS] MANIFEST_LIST", "Push a manifest list to a repository",
               ArgRule::Exact, 1, 0, true, flagsPush, cmdPush});
  v.push_back({"manifest", {"rm"}, {}, "MANIFEST_LIST [MANIFEST_LIST...]", "Delete one or more manifest lists from local storage",
               ArgRule::Min, 1, 0, true, nullptr, cmdRm});
  return v;
}

}  // namespace berth::cli
