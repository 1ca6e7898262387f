#pragma once
// How a service publishes an event (docker events): type ("container",
// "image", "volume", "network"), action ("create", "die", ...), the object's
// id and its attributes. The daemon wires it to api/events' EventBus; tests
// record the calls. Called from any thread; must not block.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace berth {

using EmitFn = std::function<void(const std::string& type, const std::string& action, const std::string& id,
                                  const nlohmann::json& attributes)>;

}  // namespace berth
