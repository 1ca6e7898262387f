#include <gtest/gtest.h>

#include "cli/mount_opts.h"
#include "container/mounts.h"

using namespace berth;
using namespace berth::container;
using nlohmann::json;

TEST(ContainerMounts, ParseBindNamedVolume) {
  auto m = parseBind("myvol2:/app");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->type, "volume");
  EXPECT_EQ(m->name, "myvol2");
  EXPECT_EQ(m->destination, "/app");
  EXPECT_TRUE(m->rw);
  EXPECT_EQ(m->mode, "z");
  EXPECT_TRUE(m->copyData);
  EXPECT_FALSE(m->anonymous);
  m = parseBind("v1:/data/:ro,nocopy");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->rw);
  EXPECT_FALSE(m->copyData);
  EXPECT_EQ(m->destination, "/data");
  EXPECT_EQ(m->mode, "ro,nocopy");
}

TEST(ContainerMounts, ParseBindHostPathAndAnonymous) {
  auto m = parseBind("/srv//data:/x:ro,rslave");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, "bind");
  EXPECT_EQ(m->source, "/srv/data");
  EXPECT_FALSE(m->rw);
  EXPECT_EQ(m->propagation, "rslave");
  EXPECT_TRUE(m->createSource);
  m = parseBind("/host:/x");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->propagation, "rprivate");
  EXPECT_EQ(m->mode, "");
  m = parseBind("/anon");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, "volume");
  EXPECT_TRUE(m->anonymous);
  EXPECT_EQ(m->name, "");
}

TEST(ContainerMounts, ParseBindErrors) {
  auto e = parseBind("a:b:c:d");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid volume specification: 'a:b:c:d'");
  e = parseBind("v:/x:bogus");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid mode: bogus");
  EXPECT_FALSE(parseBind("v:/x:ro,rw"));
  EXPECT_FALSE(parseBind("/h:/x:nocopy"));
  EXPECT_FALSE(parseBind("v:/x:rshared"));
  e = parseBind("v:relative");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("mount path must be absolute"), std::string::npos);
  e = parseBind("v:/");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid specification: destination can't be '/'");
  EXPECT_FALSE(parseBind("::"));
}

TEST(ContainerMounts, ParseApiMount) {
  auto m = parseApiMount(json{{"Type", "bind"}, {"Source", "/tmp"}, {"Target", "/t"}, {"ReadOnly", true}});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->source, "/tmp");
  EXPECT_FALSE(m->rw);
  EXPECT_FALSE(m->createSource);
  auto e = parseApiMount(json{{"Type", "bind"}, {"Source", "/nonexistent-berth-test"}, {"Target", "/t"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth-test");
  e = parseApiMount(json{{"Type", "bind"}, {"Target", "/t"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid mount config for type \"bind\": field Source must not be empty");
  e = parseApiMount(json{{"Type", "tmpfs"}, {"Source", "x"}, {"Target", "/t"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid mount config for type \"tmpfs\": field Source must not be specified");
  e = parseApiMount(json{{"Type", "nfs"}, {"Target", "/t"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid mount config for type \"nfs\": mount type unknown");
  e = parseApiMount(json{{"Type", "volume"}, {"Source", "v"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid mount config for type \"volume\": field Target must not be empty");
  m = parseApiMount(json{{"Type", "volume"},
                         {"Target", "/v"},
                         {"VolumeOptions",
                          {{"NoCopy", true}, {"Labels", {{"a", "b"}}}, {"DriverConfig", {{"Options", {{"type", "tmpfs"}}}}}}}});
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->anonymous);
  EXPECT_FALSE(m->copyData);
  EXPECT_EQ(m->volumeLabels.at("a"), "b");
  EXPECT_EQ(m->volumeOptions.at("type"), "tmpfs");
  m = parseApiMount(json{{"Type", "tmpfs"}, {"Target", "/t"}, {"TmpfsOptions", {{"SizeBytes", 2097152}, {"Mode", 0700}}}});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->tmpfsOptions, "size=2097152,mode=700");
}

TEST(ContainerMounts, CollectPrecedenceAndDuplicates) {
  MountPoint inherited;
  inherited.type = "volume";
  inherited.name = "shared";
  inherited.destination = "/data";
  json hc = {{"Binds", {"named:/app", "/tmp:/data"}},
             {"Tmpfs", {{"/run", "size=1m"}}},
             {"Mounts", json::array({{{"Type", "tmpfs"}, {"Target", "/scratch"}}})}};
  json cfgVols = {{"/anon", json::object()}, {"/app", json::object()}};
  json imgVols = {{"/var/lib/x", json::object()}};
  auto r = collectMounts(hc, cfgVols, imgVols, {inherited});
  ASSERT_TRUE(r) << r.error().message;
  std::map<std::string, MountPoint> by;
  for (auto& m : *r) by[m.destination] = m;
  ASSERT_EQ(by.size(), 6u);
  EXPECT_EQ(by["/data"].type, "bind");  // Binds override volumes-from
  EXPECT_EQ(by["/app"].name, "named");  // Config.Volumes do not override Binds
  EXPECT_TRUE(by["/anon"].anonymous);
  EXPECT_TRUE(by["/var/lib/x"].anonymous);
  EXPECT_TRUE(by["/run"].fromTmpfsFlag);
  EXPECT_EQ(by["/run"].tmpfsOptions, "size=1m");
  EXPECT_EQ(by["/scratch"].type, "tmpfs");
  auto dup = collectMounts(json{{"Binds", {"a1:/x"}}, {"Tmpfs", {{"/x", ""}}}}, nullptr, nullptr, {});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "Duplicate mount point: /x");
}

TEST(ContainerMounts, SpecAndInspectJson) {
  auto m = parseBind("/h:/x:ro");
  ASSERT_TRUE(m);
  json s = m->specJson();
  EXPECT_EQ(s["type"], "bind");
  EXPECT_EQ(s["source"], "/h");
  EXPECT_EQ(s["options"], json({"rbind", "rprivate", "ro"}));
  json i = m->inspectJson();
  EXPECT_EQ(i, json({{"Type", "bind"}, {"Source", "/h"}, {"Destination", "/x"}, {"Mode", "ro"}, {"RW", false},
                     {"Propagation", "rprivate"}}));
  auto t = parseTmpfs("/t", "size=1m,ro");
  ASSERT_TRUE(t);
  s = t->specJson();
  EXPECT_EQ(s["type"], "tmpfs");
  EXPECT_EQ(s["options"], json({"nosuid", "nodev", "noexec", "size=1m", "ro"}));
  auto v = parseBind("vol:/v");
  ASSERT_TRUE(v);
  v->source = "/data/volumes/vol/_data";
  v->runtimeType = "tmpfs";
  v->runtimeSource = "tmpfs";
  v->runtimeOptions = {"size=1m"};
  s = v->specJson();
  EXPECT_EQ(s["type"], "tmpfs");
  EXPECT_EQ(s["options"], json({"size=1m"}));
  i = v->inspectJson();
  EXPECT_EQ(i["Name"], "vol");
  EXPECT_EQ(i["Driver"], "local");
  EXPECT_EQ(i["Source"], "/data/volumes/vol/_data");
  // round trip of the persisted form
  auto back = MountPoint::fromJson(v->toJson());
  EXPECT_EQ(back.toJson(), v->toJson());
}

TEST(CliMountFlag, ParsesDockerFields) {
  auto m = cli::parseMountFlag("source=myvol2,target=/app");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ((*m)["Type"], "volume");
  EXPECT_EQ((*m)["Source"], "myvol2");
  EXPECT_EQ((*m)["Target"], "/app");
  m = cli::parseMountFlag("type=bind,src=/h,dst=/x,readonly,bind-propagation=rslave");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["ReadOnly"], true);
  EXPECT_EQ((*m)["BindOptions"]["Propagation"], "rslave");
  m = cli::parseMountFlag("type=volume,target=/v,volume-nocopy,volume-opt=type=tmpfs,volume-opt=o=size=1m,volume-label=a=b");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["VolumeOptions"]["NoCopy"], true);
  EXPECT_EQ((*m)["VolumeOptions"]["DriverConfig"]["Options"]["o"], "size=1m");
  EXPECT_EQ((*m)["VolumeOptions"]["Labels"]["a"], "b");
  m = cli::parseMountFlag("type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["TmpfsOptions"]["SizeBytes"], 2097152);
  EXPECT_EQ((*m)["TmpfsOptions"]["Mode"], 01770);
  m = cli::parseMountFlag("type=bind,\"source=/a,b\",target=/x,ro=false");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["Source"], "/a,b");
  EXPECT_FALSE(m->contains("ReadOnly"));
}

TEST(CliMountFlag, DockerErrors) {
  auto e = cli::parseMountFlag("type=bind,source=/h");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid argument \"type=bind,source=/h\" for \"--mount\" flag: target is required");
  e = cli::parseMountFlag("target=/x,bogus=1");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("unexpected key 'bogus' in 'bogus=1'"), std::string::npos);
  e = cli::parseMountFlag("target=/x,what");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("invalid field 'what' must be a key=value pair"), std::string::npos);
  e = cli::parseMountFlag("type=bind,target=/x,tmpfs-size=1m");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("cannot mix 'tmpfs-*' options with mount type 'bind'"), std::string::npos);
  EXPECT_FALSE(cli::parseMountFlag("target=/x,readonly=maybe"));
  EXPECT_FALSE(cli::parseMountFlag("type=tmpfs,target=/x,tmpfs-mode=9z"));
}
