#include "api/container_decode.h"

#include <algorithm>
#include <cctype>

#include "api/go_json.h"

namespace berth::api {

namespace {

using json = nlohmann::json;
using Kind = GoType::Kind;

// The Go types of the Engine API request bodies (moby v28.2 api/types),
// named as reflect prints them. Built once; immutable afterwards.
class Schemas {
 public:
  const GoType* createRequest;
  const GoType* config;
  const GoType* updateConfig;
  const GoType* execOptions;
  const GoType* execStartOptions;

  Schemas() {
    const GoType* str = scalar(Kind::String, "string");
    const GoType* boolean = scalar(Kind::Bool, "bool");
    const GoType* i64 = scalar(Kind::Int, "int64");
    const GoType* integer = scalar(Kind::Int, "int");
    const GoType* u16 = scalar(Kind::Uint, "uint16", 16);
    const GoType* u64 = scalar(Kind::Uint, "uint64");
    const GoType* uinteger = scalar(Kind::Uint, "uint");
    const GoType* fileMode = scalar(Kind::Uint, "fs.FileMode", 32);
    const GoType* duration = scalar(Kind::Int, "time.Duration");
    const GoType* strs = slice(str, "[]string");
    const GoType* strss = slice(strs, "[][]string");
    const GoType* strMap = map(str, "map[string]string");
    const GoType* emptyStruct = strukt("struct {}", "");
    const GoType* strSlice = scalar(Kind::StrSlice, "strslice.StrSlice");
    const GoType* consoleSize = slice(uinteger, "[2]uint");
    auto named = [&](const char* name) { return scalar(Kind::String, name); };

    GoType* health = strukt("v1.HealthcheckConfig", "HealthcheckConfig");
    health->fields = {{"Test", strs},          {"Interval", duration},      {"Timeout", duration},
                      {"StartPeriod", duration}, {"StartInterval", duration}, {"Retries", integer}};

    GoType* cfg = strukt("container.Config", "Config");
    cfg->fields = {{"Hostname", str},
                   {"Domainname", str},
                   {"User", str},
                   {"AttachStdin", boolean},
                   {"AttachStdout", boolean},
                   {"AttachStderr", boolean},
                   {"ExposedPorts", map(emptyStruct, "nat.PortSet")},
                   {"Tty", boolean},
                   {"OpenStdin", boolean},
                   {"StdinOnce", boolean},
                   {"Env", strs},
                   {"Cmd", strSlice},
                   {"Healthcheck", health, "", true},
                   {"ArgsEscaped", boolean},
                   {"Image", str},
                   {"Volumes", map(emptyStruct, "map[string]struct {}")},
                   {"WorkingDir", str},
                   {"Entrypoint", strSlice},
                   {"NetworkDisabled", boolean},
                   {"MacAddress", str},
                   {"OnBuild", strs},
                   {"Labels", strMap},
                   {"StopSignal", str},
                   {"StopTimeout", integer, "", true},
                   {"Shell", strSlice}};
    config = cfg;

    GoType* weightDevice = strukt("blkiodev.WeightDevice", "WeightDevice");
    weightDevice->fields = {{"Path", str}, {"Weight", u16}};
    GoType* throttleDevice = strukt("blkiodev.ThrottleDevice", "ThrottleDevice");
    throttleDevice->fields = {{"Path", str}, {"Rate", u64}};
    const GoType* throttles = slice(throttleDevice, "[]*blkiodev.ThrottleDevice");
    GoType* deviceMapping = strukt("container.DeviceMapping", "DeviceMapping");
    deviceMapping->fields = {{"PathOnHost", str}, {"PathInContainer", str}, {"CgroupPermissions", str}};
    GoType* deviceRequest = strukt("container.DeviceRequest", "DeviceRequest");
    deviceRequest->fields = {
        {"Driver", str}, {"Count", integer}, {"DeviceIDs", strs}, {"Capabilities", strss}, {"Options", strMap}};
    GoType* ulimit = strukt("units.Ulimit", "Ulimit");
    ulimit->fields = {{"Name", str}, {"Hard", i64}, {"Soft", i64}};
    // container.Resources, embedded in HostConfig and UpdateConfig.
    auto resources = [&](const char* via) -> std::vector<GoField> {
      return {{"CpuShares", i64, via},
              {"Memory", i64, via},
              {"NanoCpus", i64, via},
              {"CgroupParent", str, via},
              {"BlkioWeight", u16, via},
              {"BlkioWeightDevice", slice(weightDevice, "[]*blkiodev.WeightDevice"), via},
              {"BlkioDeviceReadBps", throttles, via},
              {"BlkioDeviceWriteBps", throttles, via},
              {"BlkioDeviceReadIOps", throttles, via},
              {"BlkioDeviceWriteIOps", throttles, via},
              {"CpuPeriod", i64, via},
              {"CpuQuota", i64, via},
              {"CpuRealtimePeriod", i64, via},
              {"CpuRealtimeRuntime", i64, via},
              {"CpusetCpus", str, via},
              {"CpusetMems", str, via},
              {"Devices", slice(deviceMapping, "[]container.DeviceMapping"), via},
              {"DeviceCgroupRules", strs, via},
              {"DeviceRequests", slice(deviceRequest, "[]container.DeviceRequest"), via},
              {"KernelMemory", i64, via},
              {"KernelMemoryTCP", i64, via},
              {"MemoryReservation", i64, via},
              {"MemorySwap", i64, via},
              {"MemorySwappiness", i64, via, true},
              {"OomKillDisable", boolean, via, true},
              {"PidsLimit", i64, via, true},
              {"Ulimits", slice(ulimit, "[]*units.Ulimit"), via},
              {"CpuCount", i64, via},
              {"CpuPercent", i64, via},
              {"IOMaximumIOps", u64, via},
              {"IOMaximumBandwidth", u64, via}};
    };
    GoType* restart = strukt("container.RestartPolicy", "RestartPolicy");
    restart->fields = {{"Name", named("container.RestartPolicyMode")}, {"MaximumRetryCount", integer}};
    GoType* logConfig = strukt("container.LogConfig", "LogConfig");
    logConfig->fields = {{"Type", str}, {"Config", strMap}};
    GoType* portBinding = strukt("nat.PortBinding", "PortBinding");
    portBinding->fields = {{"HostIp", str}, {"HostPort", str}};

    GoType* bindOptions = strukt("mount.BindOptions", "BindOptions");
    bindOptions->fields = {{"Propagation", named("mount.Propagation")},
                           {"NonRecursive", boolean},
                           {"CreateMountpoint", boolean},
                           {"ReadOnlyNonRecursive", boolean},
                           {"ReadOnlyForceRecursive", boolean}};
    GoType* driver = strukt("mount.Driver", "Driver");
    driver->fields = {{"Name", str}, {"Options", strMap}};
    GoType* volumeOptions = strukt("mount.VolumeOptions", "VolumeOptions");
    volumeOptions->fields = {{"NoCopy", boolean}, {"Labels", strMap}, {"Subpath", str}, {"DriverConfig", driver, "", true}};
    GoType* imageOptions = strukt("mount.ImageOptions", "ImageOptions");
    imageOptions->fields = {{"Subpath", str}};
    GoType* tmpfsOptions = strukt("mount.TmpfsOptions", "TmpfsOptions");
    tmpfsOptions->fields = {{"SizeBytes", i64}, {"Mode", fileMode}, {"Options", strss}};
    GoType* mountT = strukt("mount.Mount", "Mount");
    mountT->fields = {{"Type", named("mount.Type")},
                      {"Source", str},
                      {"Target", str},
                      {"ReadOnly", boolean},
                      {"Consistency", named("mount.Consistency")},
                      {"BindOptions", bindOptions, "", true},
                      {"VolumeOptions", volumeOptions, "", true},
                      {"ImageOptions", imageOptions, "", true},
                      {"TmpfsOptions", tmpfsOptions, "", true},
                      {"ClusterOptions", strukt("mount.ClusterOptions", "ClusterOptions"), "", true}};

    GoType* hc = strukt("container.HostConfig", "HostConfig");
    hc->fields = {{"Binds", strs},
                  {"ContainerIDFile", str},
                  {"LogConfig", logConfig},
                  {"NetworkMode", named("container.NetworkMode")},
                  {"PortBindings", map(slice(portBinding, "[]nat.PortBinding"), "nat.PortMap")},
                  {"RestartPolicy", restart},
                  {"AutoRemove", boolean},
                  {"VolumeDriver", str},
                  {"VolumesFrom", strs},
                  {"ConsoleSize", consoleSize},
                  {"Annotations", strMap},
                  {"CapAdd", strSlice},
                  {"CapDrop", strSlice},
                  {"CgroupnsMode", named("container.CgroupnsMode")},
                  {"Dns", strs},
                  {"DnsOptions", strs},
                  {"DnsSearch", strs},
                  {"ExtraHosts", strs},
                  {"GroupAdd", strs},
                  {"IpcMode", named("container.IpcMode")},
                  {"Cgroup", named("container.CgroupSpec")},
                  {"Links", strs},
                  {"OomScoreAdj", integer},
                  {"PidMode", named("container.PidMode")},
                  {"Privileged", boolean},
                  {"PublishAllPorts", boolean},
                  {"ReadonlyRootfs", boolean},
                  {"SecurityOpt", strs},
                  {"StorageOpt", strMap},
                  {"Tmpfs", strMap},
                  {"UTSMode", named("container.UTSMode")},
                  {"UsernsMode", named("container.UsernsMode")},
                  {"ShmSize", i64},
                  {"Sysctls", strMap},
                  {"Runtime", str},
                  {"Isolation", named("container.Isolation")},
                  {"Mounts", slice(mountT, "[]mount.Mount")},
                  {"MaskedPaths", strs},
                  {"ReadonlyPaths", strs},
                  {"Init", boolean, "", true}};
    for (auto& f : resources("Resources")) hc->fields.push_back(f);

    GoType* ipam = strukt("network.EndpointIPAMConfig", "EndpointIPAMConfig");
    ipam->fields = {{"IPv4Address", str}, {"IPv6Address", str}, {"LinkLocalIPs", strs}};
    GoType* endpoint = strukt("network.EndpointSettings", "EndpointSettings");
    endpoint->fields = {{"IPAMConfig", ipam, "", true},
                        {"Links", strs},
                        {"Aliases", strs},
                        {"DriverOpts", strMap},
                        {"GwPriority", integer},
                        {"NetworkID", str},
                        {"EndpointID", str},
                        {"Gateway", str},
                        {"IPAddress", str},
                        {"IPPrefixLen", integer},
                        {"IPv6Gateway", str},
                        {"GlobalIPv6Address", str},
                        {"GlobalIPv6PrefixLen", integer},
                        {"MacAddress", str},
                        {"DNSNames", strs}};
    GoType* networking = strukt("network.NetworkingConfig", "NetworkingConfig");
    networking->fields = {{"EndpointsConfig", map(endpoint, "map[string]*network.EndpointSettings")}};

    GoType* create = strukt("container.CreateRequest", "CreateRequest");
    for (const auto& f : cfg->fields) create->fields.push_back({f.key, f.type, "Config", f.pointer});
    create->fields.push_back({"HostConfig", hc, "", true});
    create->fields.push_back({"NetworkingConfig", networking, "", true});
    createRequest = create;

    GoType* update = strukt("container.UpdateConfig", "UpdateConfig");
    update->fields = resources("Resources");
    update->fields.push_back({"RestartPolicy", restart});
    updateConfig = update;

    GoType* exec = strukt("container.ExecOptions", "ExecOptions");
    exec->fields = {{"User", str},          {"Privileged", boolean},   {"Tty", boolean},
                    {"ConsoleSize", consoleSize, "", true}, {"AttachStdin", boolean}, {"AttachStderr", boolean},
                    {"AttachStdout", boolean}, {"Detach", boolean},   {"DetachKeys", str},
                    {"Env", strs},          {"WorkingDir", str},       {"Cmd", strs}};
    execOptions = exec;
    GoType* execStart = strukt("container.ExecStartOptions", "ExecStartOptions");
    execStart->fields = {{"Detach", boolean}, {"Tty", boolean}, {"ConsoleSize", consoleSize, "", true}};
    execStartOptions = execStart;
  }
  Schemas(const Schemas&) = delete;
  Schemas& operator=(const Schemas&) = delete;

 private:
  GoTypeArena arena_;

  const GoType* scalar(Kind kind, std::string name, int bits = 64) { return arena_.scalar(kind, std::move(name), bits); }
  const GoType* slice(const GoType* elem, std::string name) { return arena_.slice(elem, std::move(name)); }
  const GoType* map(const GoType* elem, std::string name) { return arena_.map(elem, std::move(name)); }
  GoType* strukt(std::string name, std::string structName) { return arena_.strukt(std::move(name), std::move(structName)); }
};

const Schemas& schemas() {
  static const Schemas s;
  return s;
}

bool equalFoldKey(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

int64_t intField(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return 0;
  return it->get<int64_t>();
}

constexpr int64_t kMinMemory = 6 * 1024 * 1024;

// runconfig.validateQoS / validateResources: checked when the body is decoded.
Result<> checkDecodeTimeResources(const json& hc) {
  if (intField(hc, "IOMaximumBandwidth") != 0)
    return makeError(Code::InvalidArgument, "invalid option: QoS maximum bandwidth configuration is not supported on linux");
  if (intField(hc, "IOMaximumIOps") != 0)
    return makeError(Code::InvalidArgument, "invalid option: QoS maximum IOPs configuration is not supported on linux");
  if (int64_t shares = intField(hc, "CpuShares"); shares < 0)
    return errorf(Code::InvalidArgument, "invalid CPU shares ({}): value must be a positive integer", shares);
  return {};
}

// daemon.verifyPlatformContainerResources, the checks berth's container
// service does not make itself (it checks the rest with the same words).
Result<> checkResources(const json& r) {
  if (int64_t mem = intField(r, "Memory"); mem != 0 && mem < kMinMemory)
    return makeError(Code::InvalidArgument, "Minimum memory limit allowed is 6MB");
  if (auto it = r.find("MemorySwappiness"); it != r.end() && it->is_number_integer()) {
    int64_t s = it->get<int64_t>();
    if (s != -1 && (s < 0 || s > 100))  // -1 means "not set" (fixMemorySwappiness)
      return errorf(Code::InvalidArgument, "Invalid value: {}, valid memory swappiness range is 0-100", s);
  }
  if (int64_t k = intField(r, "KernelMemory"); k > 0 && k < kMinMemory)
    return makeError(Code::InvalidArgument, "Minimum kernel memory limit allowed is 6MB");
  return {};
}

// daemon.validateHealthCheck: durations are 0 or at least 1ms.
Result<> checkHealthcheck(const json& h) {
  constexpr int64_t kMinimumDuration = 1000000;
  for (const char* k : {"Interval", "Timeout"})
    if (int64_t d = intField(h, k); d != 0 && d < kMinimumDuration)
      return errorf(Code::InvalidArgument, "{} in Healthcheck cannot be less than 1ms", k);
  if (intField(h, "Retries") < 0) return makeError(Code::InvalidArgument, "Retries in Healthcheck cannot be negative");
  for (const char* k : {"StartPeriod", "StartInterval"})
    if (int64_t d = intField(h, k); d != 0 && d < kMinimumDuration)
      return errorf(Code::InvalidArgument, "{} in Healthcheck cannot be less than 1ms", k);
  return {};
}

}  // namespace

Result<json> decodeCreateBody(json body) {
  const Schemas& s = schemas();
  TRY(decodeGoJson(body, *s.createRequest));
  const json none = json::object();
  auto hcIt = body.is_object() ? body.find("HostConfig") : body.end();
  const json& hc = hcIt != body.end() && hcIt->is_object() ? *hcIt : none;
  TRY(checkDecodeTimeResources(hc));
  // Go allocates the embedded *Config only when a key of it is present.
  bool hasConfig = false;
  if (body.is_object())
    for (auto it = body.begin(); it != body.end() && !hasConfig; ++it)
      for (const auto& f : s.config->fields) hasConfig = hasConfig || equalFoldKey(f.key, it.key());
  if (!hasConfig) return makeError(Code::InvalidArgument, "config cannot be empty in order to create a container");
  // verifyContainerSettings: the config first, then the host config.
  if (auto wd = body.find("WorkingDir"); wd != body.end() && wd->is_string() && !wd->get<std::string>().empty() &&
                                         wd->get<std::string>().front() != '/')
    return errorf(Code::InvalidArgument, "the working directory '{}' is invalid, it needs to be an absolute path",
                  wd->get<std::string>());
  if (auto h = body.find("Healthcheck"); h != body.end() && h->is_object()) TRY(checkHealthcheck(*h));
  TRY(checkResources(hc));
  if (intField(hc, "ShmSize") < 0) return makeError(Code::InvalidArgument, "SHM size can not be less than 0");
  return body;
}

Result<json> decodeCommitConfig(json body) {
  if (body.is_null()) return body;
  const Schemas& s = schemas();
  TRY(decodeGoJson(body, *s.createRequest));
  return body;
}

Result<json> decodeUpdateBody(json body) {
  if (body.is_null()) body = json::object();
  const Schemas& s = schemas();
  TRY(decodeGoJson(body, *s.updateConfig));
  TRY(checkResources(body));
  return body;
}

Result<json> decodeExecCreateBody(json body) {
  const Schemas& s = schemas();
  TRY(decodeGoJson(body, *s.execOptions));
  return body;
}

Result<ExecStartBody> decodeExecStartBody(json body) {
  TRY(decodeGoJson(body, *schemas().execStartOptions));
  ExecStartBody out;
  if (!body.is_object()) return out;
  if (auto it = body.find("Detach"); it != body.end() && it->is_boolean()) out.detach = it->get<bool>();
  if (auto it = body.find("Tty"); it != body.end() && it->is_boolean()) out.tty = it->get<bool>();
  if (auto it = body.find("ConsoleSize"); it != body.end() && it->is_array() && it->size() == 2 &&
                                          (*it)[0].is_number_unsigned() && (*it)[1].is_number_unsigned()) {
    out.rows = int(std::min<uint64_t>((*it)[0].get<uint64_t>(), 65535));
    out.cols = int(std::min<uint64_t>((*it)[1].get<uint64_t>(), 65535));
  }
  return out;
}

}  // namespace berth::api
