#include "cli/context_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "common/util.h"

namespace berth::cli {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

bool fileExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

Result<ContextInfo> parseMeta(const std::string& text, const std::string& path) {
  auto j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return errorf(Code::InvalidArgument, "parsing {}: invalid context metadata", path);
  ContextInfo c;
  if (auto it = j.find("Name"); it != j.end() && it->is_string()) c.name = it->get<std::string>();
  if (auto it = j.find("Metadata"); it != j.end() && it->is_object()) {
    c.metadataJson = it->dump();
    if (auto d = it->find("Description"); d != it->end() && d->is_string()) c.description = d->get<std::string>();
  }
  if (auto it = j.find("Endpoints"); it != j.end() && it->is_object()) {
    c.endpointsJson = it->dump();
    if (auto d = it->find("docker"); d != it->end() && d->is_object()) {
      if (auto h = d->find("Host"); h != d->end() && h->is_string()) c.host = h->get<std::string>();
      if (auto s = d->find("SkipTLSVerify"); s != d->end() && s->is_boolean()) c.skipTlsVerify = s->get<bool>();
    }
  }
  return c;
}

}  // namespace

bool validContextName(const std::string& name) {
  if (name.size() < 2 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin() + 1, name.end(), [](char ch) {
    unsigned char u = static_cast<unsigned char>(ch);
    return std::isalnum(u) || ch == '_' || ch == '.' || ch == '+' || ch == '-';
  });
}

std::string ContextStore::metaDir(const std::string& name) const {
  return dir_ + "/contexts/meta/" + sha256Hex(name);
}

std::string ContextStore::tlsDir(const std::string& name) const { return dir_ + "/contexts/tls/" + sha256Hex(name); }

Result<ContextInfo> ContextStore::get(const std::string& name) const {
  std::string path = metaDir(name) + "/meta.json";
  auto text = readFile(path);
  if (!text)
    return errorf(Code::NotFound, "context {:?}: context not found: open {}: no such file or directory", name, path);
  TRY_ASSIGN(ContextInfo c, parseMeta(*text, path));
  if (c.name.empty()) c.name = name;
  std::string tls = tlsDir(name) + "/docker/";
  c.hasCa = fileExists(tls + "ca.pem");
  c.hasCert = fileExists(tls + "cert.pem");
  c.hasKey = fileExists(tls + "key.pem");
  return c;
}

bool ContextStore::exists(const std::string& name) const { return fileExists(metaDir(name) + "/meta.json"); }

std::vector<ContextInfo> ContextStore::list() const {
  std::vector<ContextInfo> out;
  std::string root = dir_ + "/contexts/meta";
  DIR* d = ::opendir(root.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    auto text = readFile(root + "/" + n + "/meta.json");
    if (!text) continue;
    auto c = parseMeta(*text, root + "/" + n + "/meta.json");
    if (!c || c->name.empty()) continue;
    std::string tls = tlsDir(c->name) + "/docker/";
    c->hasCa = fileExists(tls + "ca.pem");
    c->hasCert = fileExists(tls + "cert.pem");
    c->hasKey = fileExists(tls + "key.pem");
    out.push_back(std::move(*c));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const ContextInfo& a, const ContextInfo& b) { return a.name < b.name; });
  return out;
}

Result<> ContextStore::create(const ContextInfo& info, const ContextTls& tls) {
  ojson meta = ojson::object();
  meta["Name"] = info.name;
  ojson md = ojson::object();
  if (!info.description.empty()) md["Description"] = info.description;
  meta["Metadata"] = md;
  meta["Endpoints"] = {{"docker", {{"Host", info.host}, {"SkipTLSVerify", info.skipTlsVerify}}}};
  std::string mdir = metaDir(info.name);
  TRY(mkdirAll(mdir, 0755));
  if (!tls.empty()) {
    std::string tdir = tlsDir(info.name) + "/docker";
    TRY(mkdirAll(tdir, 0700));
    ::chmod((tlsDir(info.name)).c_str(), 0700);
    if (!tls.ca.empty()) TRY(writeFileAtomic(tdir + "/ca.pem", tls.ca, 0600));
    if (!tls.cert.empty()) TRY(writeFileAtomic(tdir + "/cert.pem", tls.cert, 0600));
    if (!tls.key.empty()) TRY(writeFileAtomic(tdir + "/key.pem", tls.key, 0600));
  }
  return writeFileAtomic(mdir + "/meta.json", meta.dump(), 0644);
}

Result<> ContextStore::remove(const std::string& name) {
  if (!exists(name)) return errorf(Code::NotFound, "context {:?} does not exist", name);
  TRY(removeAll(metaDir(name)));
  return removeAll(tlsDir(name));
}

std::string ContextStore::currentContext() const {
  auto text = readFile(dir_ + "/config.json");
  if (!text) return "";
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "";
  auto it = j.find("currentContext");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<> ContextStore::setCurrentContext(const std::string& name) {
  std::string path = dir_ + "/config.json";
  ojson cfg = ojson::object();
  if (auto text = readFile(path)) {
    auto j = ojson::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return errorf(Code::InvalidArgument, "parsing {}: invalid JSON", path);
    cfg = std::move(j);
  }
  if (name.empty() || name == kDefaultContextName)
    cfg.erase("currentContext");
  else
    cfg["currentContext"] = name;
  TRY(mkdirAll(dir_, 0700));
  return writeFileAtomic(path, cfg.dump(1, '\t'), 0600);
}

}  // namespace berth::cli
