#pragma once
// Registry credentials in the docker CLI's config.json ($DOCKER_CONFIG or
// ~/.docker): "auths" entries with a base64 "auth" of user:password, keyed
// by the registry ("https://index.docker.io/v1/" for Docker Hub), and
// credential helpers ("credsStore", "credHelpers") run as
// docker-credential-<name> get|store|erase.

#include <string>

#include "common/result.h"

namespace berth::cli {

struct StoredAuth {
  std::string username, password, serverAddress;
};

// The config.json key for a registry domain ("docker.io" -> Hub's key).
std::string authKey(const std::string& domain);
// The credentials stored for domain; empty when none.
StoredAuth loadAuth(const std::string& domain);
// The X-Registry-Auth header value for a push/pull to domain ("e30=" = {}).
std::string registryAuthHeader(const std::string& domain);
// Saves credentials (helper when configured, else base64 in "auths").
// Returns the path written (for docker's warning) or "" for a helper.
Result<std::string> saveAuth(const std::string& domain, const std::string& username, const std::string& password);
// Removes them; NotFound when nothing was stored.
Result<> eraseAuth(const std::string& domain);

// A top-level string setting of config.json ("detachKeys"); "" when the
// file, the key or a string value is missing.
std::string configString(const std::string& key);

}  // namespace berth::cli
