#include "api/request_decode.h"

#include "api/go_json.h"

namespace berth::api {

namespace {

using json = nlohmann::json;
using Kind = GoType::Kind;

// The Go types of these bodies (moby v28.2 api/types). Built once; immutable afterwards.
class Schemas {
 public:
  const GoType* volumeCreate;
  const GoType* authConfig;

  Schemas() {
    const GoType* str = arena_.scalar(Kind::String, "string");
    const GoType* strMap = arena_.map(str, "map[string]string");
    GoType* volume = arena_.strukt("volume.CreateOptions", "CreateOptions");
    volume->fields = {{"ClusterVolumeSpec", arena_.scalar(Kind::Any, "volume.ClusterVolumeSpec"), "", true},
                      {"Driver", str},
                      {"DriverOpts", strMap},
                      {"Labels", strMap},
                      {"Name", str}};
    volumeCreate = volume;
    GoType* auth = arena_.strukt("registry.AuthConfig", "AuthConfig");
    auth->fields = {{"username", str},      {"password", str},      {"auth", str},         {"email", str},
                    {"serveraddress", str}, {"identitytoken", str}, {"registrytoken", str}};
    authConfig = auth;
  }

 private:
  GoTypeArena arena_;
};

const Schemas& schemas() {
  static const Schemas s;
  return s;
}

std::string stringField(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::map<std::string, std::string> stringMapField(const json& obj, const char* key) {
  std::map<std::string, std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return out;
  for (auto e = it->begin(); e != it->end(); ++e)
    if (e->is_string()) out[e.key()] = e->get<std::string>();
  return out;
}

}  // namespace

Result<VolumeCreateBody> decodeVolumeCreateBody(json body) {
  TRY(decodeGoJson(body, *schemas().volumeCreate));
  VolumeCreateBody out;
  if (!body.is_object()) return out;
  out.name = stringField(body, "Name");
  out.driver = stringField(body, "Driver");
  out.driverOpts = stringMapField(body, "DriverOpts");
  out.labels = stringMapField(body, "Labels");
  return out;
}

Result<AuthBody> decodeAuthBody(json body) {
  TRY(decodeGoJson(body, *schemas().authConfig));
  // An empty body would log in to Docker Hub anonymously; berthd refuses it.
  if (!body.is_object()) return makeError(Code::InvalidArgument, "invalid JSON body");
  AuthBody out;
  out.username = stringField(body, "username");
  out.password = stringField(body, "password");
  out.identityToken = stringField(body, "identitytoken");
  out.serverAddress = stringField(body, "serveraddress");
  return out;
}

}  // namespace berth::api
