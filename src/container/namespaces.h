#pragma once
// Client namespaces of containers, as containerd keeps one per client: the
// Docker Engine API's containers carry no namespace label; the CRI's
// (pod sandboxes and pod containers) carry io.berth.namespace=k8s.io.
// container::Service::list shows one namespace at a time (ListOptions::ns):
// `docker ps -a` never lists a CRI container and the CRI lists only its own.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace berth::container {

// The label that names a container's namespace.
inline constexpr std::string_view kNamespaceLabel = "io.berth.namespace";
// The CRI's namespace (containerd's name for it).
inline constexpr std::string_view kCriNamespace = "k8s.io";

// The namespace of a container from its Config (Labels): "" when it has
// none (a Docker API container) or the label is not a string.
inline std::string namespaceOf(const nlohmann::json& config) {
  if (!config.is_object()) return "";
  auto labels = config.find("Labels");
  if (labels == config.end() || !labels->is_object()) return "";
  auto it = labels->find(std::string(kNamespaceLabel));
  return it != labels->end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace berth::container
