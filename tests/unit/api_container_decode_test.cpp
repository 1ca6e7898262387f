#include <gtest/gtest.h>

#include "api/container_decode.h"
#include "api/request_decode.h"

namespace berth::api {
namespace {

using json = nlohmann::json;

// Bodies docker CLI 28.2.2 sent for `docker run -d busybox true` and for a
// `docker run` with many flags (captured from a socket listener).
const char* kDockerRunMinimal =
    R"({"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["true"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})";

const char* kDockerRunMany =
    R"({"Hostname":"hh","Domainname":"","User":"1","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"80/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["A=1"],"Cmd":["sh","-c","true"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000},"Image":"busybox","Volumes":{},"WorkingDir":"/w","Entrypoint":null,"OnBuild":null,"Labels":{"k":"v"},"StopTimeout":5,"HostConfig":{"Binds":["/tmp:/data"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":["CAP_NET_ADMIN"],"CapDrop":null,"CgroupnsMode":"","Dns":["1.1.1.1"],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":["h:1.2.3.4"],"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"Tmpfs":{"/run":"size=1m"},"UTSMode":"","UsernsMode":"","ShmSize":1048576,"Sysctls":{"net.ipv4.ip_forward":"1"},"Isolation":"","CpuShares":0,"Memory":67108864,"NanoCpus":500000000,"CgroupParent":"","BlkioWeight":100,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[{"Path":"/dev/null","Rate":1048576}],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/n","CgroupPermissions":"rwm"}],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":50,"Ulimits":[{"Name":"nofile","Hard":200,"Soft":100}],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"Mounts":[{"Type":"volume","Source":"v","Target":"/v"}],"MaskedPaths":null,"ReadonlyPaths":null,"Init":true},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})";

// The message decodeCreateBody gives for body, "" when it is accepted.
std::string createError(const std::string& body) {
  auto r = decodeCreateBody(json::parse(body));
  if (r) return "";
  EXPECT_EQ(r.error().code, Code::InvalidArgument) << body;
  return r.error().message;
}

std::string withHost(const std::string& hostConfig) {
  return R"({"Image":"busybox","Cmd":["true"],"HostConfig":)" + hostConfig + "}";
}

TEST(ContainerDecode, DockerCliBodiesPass) {
  for (const char* body : {kDockerRunMinimal, kDockerRunMany}) {
    auto r = decodeCreateBody(json::parse(body));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, json::parse(body)) << "a body without nulls of scalars comes back unchanged";
  }
  EXPECT_EQ(createError(R"({"Image":"busybox","Cmd":"echo hi","Entrypoint":"sh"})"), "") << "strslice takes a string";
  EXPECT_EQ(createError(R"({"Image":"busybox","Unknown":{"x":[1]},"HostConfig":{"AlsoUnknown":5}})"), "");
  EXPECT_EQ(createError(withHost(R"({"PidsLimit":-5})")), "") << "dockerd reads a negative PidsLimit as unlimited";
  EXPECT_EQ(createError(withHost(R"({"Tmpfs":{"/run":"size=-1"}})")), "") << "dockerd checks tmpfs options at start";
  EXPECT_EQ(createError(withHost(R"({"MemorySwappiness":-1})")), "");
}

TEST(ContainerDecode, WrongTypesAreGoErrors) {
  const std::string p = "invalid JSON: json: cannot unmarshal ";
  EXPECT_EQ(createError(R"({"Image":"busybox","Env":"A=1"})"),
            p + "string into Go struct field CreateRequest.Config.Env of type []string");
  EXPECT_EQ(createError(R"({"Image":"busybox","Env":[1,2]})"),
            p + "number into Go struct field CreateRequest.Config.Env of type string");
  EXPECT_EQ(createError(R"({"Image":"busybox","Labels":"a=b"})"),
            p + "string into Go struct field CreateRequest.Config.Labels of type map[string]string");
  EXPECT_EQ(createError(R"({"Image":"busybox","Labels":{"a":1}})"),
            p + "number into Go struct field CreateRequest.Config.Labels of type string");
  EXPECT_EQ(createError(R"({"Image":"busybox","HostConfig":"x"})"),
            p + "string into Go struct field CreateRequest.HostConfig of type container.HostConfig");
  EXPECT_EQ(createError(withHost(R"({"Binds":"/a:/b"})")),
            p + "string into Go struct field HostConfig.HostConfig.Binds of type []string");
  EXPECT_EQ(createError(withHost(R"({"Memory":"1g"})")),
            p + "string into Go struct field HostConfig.HostConfig.Resources.Memory of type int64");
  EXPECT_EQ(createError(withHost(R"({"Memory":1.5})")),
            p + "number 1.5 into Go struct field HostConfig.HostConfig.Resources.Memory of type int64");
  EXPECT_EQ(createError(withHost(R"({"BlkioWeight":-5})")),
            p + "number -5 into Go struct field HostConfig.HostConfig.Resources.BlkioWeight of type uint16");
  EXPECT_EQ(createError(withHost(R"({"BlkioWeight":70000})")),
            p + "number 70000 into Go struct field HostConfig.HostConfig.Resources.BlkioWeight of type uint16");
  EXPECT_EQ(createError(R"({"Image":"busybox","ExposedPorts":["80/tcp"]})"),
            p + "array into Go struct field CreateRequest.Config.ExposedPorts of type nat.PortSet");
  EXPECT_EQ(createError(R"({"Image":"busybox","Volumes":"/data"})"),
            p + "string into Go struct field CreateRequest.Config.Volumes of type map[string]struct {}");
  EXPECT_EQ(createError(R"({"Image":"busybox","Healthcheck":"CMD true"})"),
            p + "string into Go struct field CreateRequest.Config.Healthcheck of type v1.HealthcheckConfig");
  EXPECT_EQ(createError(R"({"Image":"busybox","Healthcheck":{"Interval":"5s"}})"),
            p + "string into Go struct field HealthcheckConfig.Config.Healthcheck.Interval of type time.Duration");
  EXPECT_EQ(createError(withHost(R"({"Ulimits":"nofile=1"})")),
            p + "string into Go struct field HostConfig.HostConfig.Resources.Ulimits of type []*units.Ulimit");
  EXPECT_EQ(createError(withHost(R"({"Ulimits":[{"Name":"nofile","Soft":"1"}]})")),
            p + "string into Go struct field Ulimit.HostConfig.Resources.Ulimits.Soft of type int64");
  EXPECT_EQ(createError(withHost(R"({"RestartPolicy":{"Name":5}})")),
            p + "number into Go struct field RestartPolicy.HostConfig.RestartPolicy.Name of type "
                "container.RestartPolicyMode");
  EXPECT_EQ(createError(R"({"Image":"busybox","Cmd":[1]})"),
            p + "array into Go struct field CreateRequest.Config.Cmd of type string");
  EXPECT_EQ(createError(R"({"Image":42})"), p + "number into Go struct field CreateRequest.Config.Image of type string");
  EXPECT_EQ(createError(R"({"image":42})"), p + "number into Go struct field CreateRequest.Config.Image of type string")
      << "Go matches keys case-insensitively";
  EXPECT_EQ(createError("[1,2]"), p + "array into Go value of type container.CreateRequest");
  EXPECT_EQ(createError(R"({"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":"a"}}}})"),
            p + "string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string");
}

TEST(ContainerDecode, RangeChecksAsDockerd) {
  EXPECT_EQ(createError("null"), "config cannot be empty in order to create a container");
  EXPECT_EQ(createError("{}"), "config cannot be empty in order to create a container");
  EXPECT_EQ(createError(R"({"HostConfig":{}})"), "config cannot be empty in order to create a container");
  EXPECT_EQ(createError(withHost(R"({"Memory":-5})")), "Minimum memory limit allowed is 6MB");
  EXPECT_EQ(createError(withHost(R"({"ShmSize":-5})")), "SHM size can not be less than 0");
  EXPECT_EQ(createError(withHost(R"({"CpuShares":-1})")), "invalid CPU shares (-1): value must be a positive integer");
  EXPECT_EQ(createError(withHost(R"({"MemorySwappiness":101})")),
            "Invalid value: 101, valid memory swappiness range is 0-100");
  EXPECT_EQ(createError(withHost(R"({"KernelMemory":5})")), "Minimum kernel memory limit allowed is 6MB");
  EXPECT_EQ(createError(withHost(R"({"IOMaximumBandwidth":5})")),
            "invalid option: QoS maximum bandwidth configuration is not supported on linux");
  EXPECT_EQ(createError(R"({"Image":"busybox","WorkingDir":"rel"})"),
            "the working directory 'rel' is invalid, it needs to be an absolute path");
  EXPECT_EQ(createError(R"({"Image":"busybox","Healthcheck":{"Interval":5}})"),
            "Interval in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(createError(R"({"Image":"busybox","Healthcheck":{"Retries":-1}})"),
            "Retries in Healthcheck cannot be negative");
}

TEST(ContainerDecode, NullScalarsAreDropped) {
  auto r = decodeCreateBody(json::parse(R"({"Image":"busybox","User":null,"Env":null,"HostConfig":{"Memory":null,"PidsLimit":null}})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->contains("User"));
  EXPECT_TRUE(r->contains("Env")) << "slice nulls stay";
  EXPECT_FALSE((*r)["HostConfig"].contains("Memory"));
  EXPECT_TRUE((*r)["HostConfig"].contains("PidsLimit")) << "pointer nulls stay";
}

// Go's decoder matches keys exactly first, then without regard to case;
// every body decoder renames such keys to the field's spelling.
TEST(ContainerDecode, KeysMatchCaseInsensitively) {
  // docker-py's exec create body spells detachKeys in camel case.
  auto x = decodeExecCreateBody(json::parse(R"({"cmd":["ls"],"detachKeys":"ctrl-p","TTY":true,"attachstdin":true})"));
  ASSERT_TRUE(x) << x.error().message;
  EXPECT_EQ(x->value("DetachKeys", ""), "ctrl-p");
  EXPECT_EQ(x->value("Cmd", json()), json::array({"ls"}));
  EXPECT_TRUE(x->value("Tty", false));
  EXPECT_TRUE(x->value("AttachStdin", false));
  EXPECT_FALSE(x->contains("detachKeys"));
  // Wrong types are still found under another spelling.
  auto bad = decodeExecCreateBody(json::parse(R"({"detachkeys":5})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "invalid JSON: json: cannot unmarshal number into Go struct field ExecOptions.DetachKeys of type string");
  // The exact spelling wins over a folded one.
  auto both = decodeExecCreateBody(json::parse(R"({"Cmd":["ls"],"DetachKeys":"a","detachkeys":"b"})"));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->value("DetachKeys", ""), "a");
  EXPECT_FALSE(both->contains("detachkeys"));

  // Nested structs (embedded Config, HostConfig, RestartPolicy) too; map keys are data and stay.
  auto c = decodeCreateBody(json::parse(
      R"({"image":"busybox","labels":{"lower":"v"},"hostconfig":{"restartpolicy":{"name":"always"},"memory":67108864}})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->value("Image", ""), "busybox");
  EXPECT_EQ((*c)["Labels"], json({{"lower", "v"}}));
  EXPECT_EQ((*c)["HostConfig"]["RestartPolicy"]["Name"], "always");
  EXPECT_EQ((*c)["HostConfig"]["Memory"], 67108864);
  // Range checks see the renamed keys.
  EXPECT_EQ(createError(R"({"Image":"busybox","hostConfig":{"memory":1}})"), "Minimum memory limit allowed is 6MB");

  auto s = decodeExecStartBody(json::parse(R"({"detach":false,"tty":true,"consoleSize":[24,80]})"));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->tty);
  EXPECT_EQ(s->rows, 24);
  EXPECT_EQ(s->cols, 80);
  auto v = decodeVolumeCreateBody(json::parse(R"({"name":"v","LABELS":{"Key":"b"}})"));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->name, "v");
  EXPECT_EQ(v->labels.at("Key"), "b");
  auto a = decodeAuthBody(json::parse(R"({"Username":"u","ServerAddress":"h:5000"})"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->username, "u");
  EXPECT_EQ(a->serverAddress, "h:5000");
}

TEST(ContainerDecode, OtherBodies) {
  auto u = decodeUpdateBody(json::parse(R"({"Memory":"x"})"));
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message,
            "invalid JSON: json: cannot unmarshal string into Go struct field UpdateConfig.Resources.Memory of type int64");
  EXPECT_FALSE(decodeUpdateBody(json::parse(R"({"Memory":-5})")));
  EXPECT_TRUE(decodeUpdateBody(json::parse(R"({"Memory":67108864,"RestartPolicy":{"Name":"always"}})")));

  auto x = decodeExecCreateBody(json::parse(R"({"Cmd":"ls"})"));
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().message,
            "invalid JSON: json: cannot unmarshal string into Go struct field ExecOptions.Cmd of type []string");
  EXPECT_TRUE(decodeExecCreateBody(json::parse(
      R"({"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["ls"],"ConsoleSize":[24,80]})")));

  auto s = decodeExecStartBody(json::parse(R"({"Detach":true,"Tty":false})"));
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->detach);
  EXPECT_FALSE(decodeExecStartBody(json::parse(R"({"Detach":"yes"})")));
  EXPECT_TRUE(decodeExecStartBody(json(nullptr)));

  auto c = decodeCommitConfig(json::parse(R"({"Env":"x"})"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message,
            "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Config.Env of type []string");
  EXPECT_TRUE(decodeCommitConfig(json(nullptr)));

  auto v = decodeVolumeCreateBody(json::parse(R"({"Name":"v","Labels":{"a":"b"},"DriverOpts":{"type":"tmpfs"}})"));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->name, "v");
  EXPECT_EQ(v->labels.at("a"), "b");
  auto bad = decodeVolumeCreateBody(json::parse(R"({"Labels":["a"]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "invalid JSON: json: cannot unmarshal array into Go struct field CreateOptions.Labels of type map[string]string");
  EXPECT_TRUE(decodeVolumeCreateBody(json(nullptr)));

  EXPECT_FALSE(decodeAuthBody(json::parse(R"({"username":5})")));
  EXPECT_FALSE(decodeAuthBody(json(nullptr)));
  auto a = decodeAuthBody(json::parse(R"({"username":"u","password":"p","serveraddress":"127.0.0.1:5000"})"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->serverAddress, "127.0.0.1:5000");
}

}  // namespace
}  // namespace berth::api
