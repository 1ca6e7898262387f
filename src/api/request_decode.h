#pragma once
// Small request bodies outside the container routes, decoded as dockerd's
// httputils.ReadJSON decodes them (api/go_json.h): a field of the wrong type
// is a 400 "invalid JSON: json: cannot unmarshal ...".

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::api {

// POST /volumes/create: volume.CreateOptions. A null body is an empty one.
struct VolumeCreateBody {
  std::string name;
  std::string driver;
  std::map<std::string, std::string> driverOpts;
  std::map<std::string, std::string> labels;
};
Result<VolumeCreateBody> decodeVolumeCreateBody(nlohmann::json body);

// POST /auth: registry.AuthConfig (lowercase keys). A null body: "invalid JSON body".
struct AuthBody {
  std::string username;
  std::string password;
  std::string identityToken;
  std::string serverAddress;
};
Result<AuthBody> decodeAuthBody(nlohmann::json body);

}  // namespace berth::api
