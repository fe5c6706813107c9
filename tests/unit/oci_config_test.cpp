// config.json -> Spec (src/oci/config.cpp): each mapped member, and members refused with
// their JSON path.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "oci/config.hpp"
#include "oci/runtime.hpp"
#include "security/caps.hpp"

namespace sb::oci {
namespace {

using json = nlohmann::json;

json base() {
  return json::parse(R"({
    "ociVersion": "1.0.2",
    "root": {"path": "rootfs"},
    "process": {"args": ["sh", "-c", "true"], "cwd": "/", "env": ["PATH=/bin", "A=b=c"],
                "user": {"uid": 0, "gid": 0}},
    "linux": {"namespaces": [{"type": "mount"}, {"type": "user"}]}
  })");
}

const MapInput kIn{"/bundle", 1000, 1000};

Config map(const json& j, const MapInput& in = kIn) { return map_config(j.dump(), in); }

// The JSON path of the ConfigError map() throws, or "" when it throws none.
std::string refused(const json& j, const MapInput& in = kIn) {
  try {
    map(j, in);
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: " + e.path() + ": "), std::string::npos)
        << e.what();
    return e.path();
  }
  return "";
}

template <class T>
std::vector<T> ops_of(const Spec& s) {
  std::vector<T> out;
  for (const auto& op : s.fs)
    if (auto* o = std::get_if<T>(&op)) out.push_back(*o);
  return out;
}

TEST(OciConfig, RootBecomesTheFirstBindAndReadonlyTheLastRemount) {
  json j = base();
  j["root"]["readonly"] = true;
  j["mounts"] = {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}}};
  Config c = map(j);
  EXPECT_EQ(c.rootfs, "/bundle/rootfs");
  ASSERT_EQ(c.spec.fs.size(), 3u);
  auto* b = std::get_if<BindOp>(&c.spec.fs.front());
  ASSERT_TRUE(b);
  EXPECT_EQ(b->source, "/bundle/rootfs");
  EXPECT_EQ(b->dest, "/");
  EXPECT_TRUE(std::holds_alternative<ProcOp>(c.spec.fs[1]));
  auto* ro = std::get_if<RemountRoOp>(&c.spec.fs.back());
  ASSERT_TRUE(ro);
  EXPECT_EQ(ro->dest, "/");
  j["root"]["path"] = "/abs/root";
  EXPECT_EQ(map(j).rootfs, "/abs/root");
  j["root"].erase("path");
  EXPECT_EQ(refused(j), "root.path");
}

TEST(OciConfig, ProcessArgsEnvCwd) {
  Config c = map(base());
  EXPECT_EQ(c.spec.command, (std::vector<std::string>{"sh", "-c", "true"}));
  ASSERT_EQ(c.spec.env.size(), 3u);
  EXPECT_EQ(c.spec.env[0].kind, EnvEdit::Kind::Clear);  // none of the caller's
  EXPECT_EQ(c.spec.env[2].name, "A");
  EXPECT_EQ(c.spec.env[2].value, "b=c");
  EXPECT_EQ(apply_env({"HOME=/root"}, c.spec.env),
            (std::vector<std::string>{"PATH=/bin", "A=b=c"}));
  EXPECT_EQ(c.spec.chdir, "/");
  EXPECT_TRUE(c.spec.new_session);
  json j = base();
  j["process"]["env"].push_back("NOEQUALS");
  EXPECT_EQ(refused(j), "process.env[2]");
  j = base();
  j["process"]["cwd"] = "relative";
  EXPECT_EQ(refused(j), "process.cwd");
  j = base();
  j["process"]["args"] = json::array();
  EXPECT_EQ(refused(j), "process.args");
  j = base();
  j["process"]["args"] = {"sh", 3};
  EXPECT_EQ(refused(j), "process.args[1]");
}

TEST(OciConfig, UserIdsThroughTheSingleMap) {
  json j = base();
  j["process"]["user"] = {{"uid", 5}, {"gid", 6}};
  Config c = map(j);
  EXPECT_EQ(c.spec.uid, 5u);
  EXPECT_EQ(c.spec.gid, 6u);
  EXPECT_TRUE(c.spec.unshare_user);
  // A map of our own id names the id inside, which process.user must use.
  j["linux"]["uidMappings"] = {{{"containerID", 5}, {"hostID", 1000}, {"size", 1}}};
  j["linux"]["gidMappings"] = {{{"containerID", 6}, {"hostID", 1000}, {"size", 1}}};
  EXPECT_EQ(map(j).spec.uid, 5u);
  j["process"]["user"]["uid"] = 0;
  EXPECT_EQ(refused(j), "process.user.uid");
  // Only the single-id maps of our own ids are written by sandbox itself.
  j["process"]["user"]["uid"] = 5;
  EXPECT_TRUE(map(j).spec.id_maps.empty());
  // Anything else is written from outside and needs both maps.
  j = base();
  j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1001}, {"size", 1}}};
  EXPECT_EQ(refused(j), "linux.gidMappings");
  j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 65536}}};
  EXPECT_EQ(refused(j), "linux.gidMappings");
  j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  EXPECT_FALSE(map(j).spec.id_maps.empty());
  j.erase("linux");
  j = base();
  j["process"]["user"]["additionalGids"] = {5};
  EXPECT_EQ(refused(j), "process.user.additionalGids");
  j = base();
  j["process"]["user"]["umask"] = 18;  // 022
  EXPECT_EQ(map(j).spec.umask, 022u);
  EXPECT_FALSE(map(base()).spec.umask);  // the caller's
  j["process"]["user"]["umask"] = 01000;
  EXPECT_EQ(refused(j), "process.user.umask");
}

json multi_range() {
  json j = base();
  json ranges = {{{"containerID", 0}, {"hostID", 100000}, {"size", 1000}},
                 {{"containerID", 1000}, {"hostID", 200000}, {"size", 10}},
                 {{"containerID", 2000}, {"hostID", 300000}, {"size", 5}}};
  j["linux"]["uidMappings"] = ranges;
  j["linux"]["gidMappings"] = ranges;
  return j;
}

TEST(OciConfig, MultiRangeMapsAreWrittenFromOutside) {
  Config c = map(multi_range());
  const IdMapRequest& m = c.spec.id_maps;
  std::vector<IdRange> want = {{0, 100000, 1000}, {1000, 200000, 10}, {2000, 300000, 5}};
  EXPECT_EQ(m.uids, want);
  EXPECT_EQ(m.gids, want);
  EXPECT_EQ(m.uid_origin, "linux.uidMappings");
  EXPECT_EQ(m.gid_origin, "linux.gidMappings");
  EXPECT_EQ(c.spec.uid, 0u);
  EXPECT_EQ(c.spec.gid, 0u);
  EXPECT_FALSE(c.spec.groups);
  // process.user is checked against the ranges.
  json j = multi_range();
  j["process"]["user"] = {{"uid", 1009}, {"gid", 2004}};
  EXPECT_EQ(map(j).spec.uid, 1009u);
  EXPECT_EQ(map(j).spec.gid, 2004u);
  j["process"]["user"]["uid"] = 1010;
  EXPECT_EQ(refused(j), "process.user.uid");
  j["process"]["user"] = {{"uid", 0}, {"gid", 1999}};
  EXPECT_EQ(refused(j), "process.user.gid");
}

TEST(OciConfig, EachBadRangeIsRefusedWithItsPath) {
  auto with = [](const char* which, size_t i, const char* key, json value) {
    json j = multi_range();
    j["linux"][which][i][key] = value;
    return refused(j);
  };
  EXPECT_EQ(with("uidMappings", 1, "size", 0), "linux.uidMappings[1]");
  EXPECT_EQ(with("gidMappings", 2, "containerID", 5), "linux.gidMappings[2]");  // overlaps [0]
  EXPECT_EQ(with("uidMappings", 2, "hostID", 100999), "linux.uidMappings[2]");  // overlaps [0]
  EXPECT_EQ(with("uidMappings", 0, "hostID", 4294967295u), "linux.uidMappings[0]");  // past the last id
  EXPECT_EQ(with("uidMappings", 1, "hostID", 4294967296ull), "linux.uidMappings[1].hostID");
  EXPECT_EQ(with("gidMappings", 0, "size", -1), "linux.gidMappings[0].size");
  EXPECT_EQ(with("uidMappings", 0, "size", "10"), "linux.uidMappings[0].size");
  json j = multi_range();
  j["linux"]["uidMappings"][1].erase("hostID");
  EXPECT_EQ(refused(j), "linux.uidMappings[1].hostID");
  j = multi_range();
  j["linux"]["uidMappings"][1]["extra"] = 1;
  EXPECT_EQ(refused(j), "linux.uidMappings[1].extra");
  // More lines than the kernel takes.
  j = multi_range();
  j["linux"]["uidMappings"] = json::array();
  for (int i = 0; i < 341; ++i)
    j["linux"]["uidMappings"].push_back({{"containerID", i}, {"hostID", 100000 + i}, {"size", 1}});
  EXPECT_EQ(refused(j), "linux.uidMappings");
  j["linux"]["uidMappings"].erase(340);
  EXPECT_EQ(refused(j), "");
  // Both or neither.
  j = multi_range();
  j["linux"].erase("gidMappings");
  EXPECT_EQ(refused(j), "linux.gidMappings");
  j = multi_range();
  j["linux"]["uidMappings"] = json::array();
  EXPECT_EQ(refused(j), "linux.uidMappings");
  // Not for a joined user namespace (its maps apply), nor without one.
  j = multi_range();
  j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "user"}, {"path", "/proc/1/ns/user"}}};
  EXPECT_EQ(refused(j), "linux.uidMappings");
  j["linux"]["namespaces"] = {{{"type", "mount"}}};
  EXPECT_EQ(refused(j), "linux.uidMappings");
}

TEST(OciConfig, AdditionalGidsNeedAGidMapWrittenFromOutside) {
  json j = multi_range();
  j["process"]["user"]["additionalGids"] = {5, 1001, 2004};
  Config c = map(j);
  ASSERT_TRUE(c.spec.groups);
  EXPECT_EQ(*c.spec.groups, (std::vector<gid_t>{5, 1001, 2004}));
  EXPECT_EQ(c.spec.groups_origin, "process.user.additionalGids");
  j["process"]["user"]["additionalGids"] = json::array();  // none asked: nothing to do
  EXPECT_FALSE(map(j).spec.groups);
  // Each must be mapped, or the error names it.
  j["process"]["user"]["additionalGids"] = {5, 1500};
  EXPECT_EQ(refused(j), "process.user.additionalGids[1]");
  try {
    map(j);
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("gid 1500 is not mapped in linux.gidMappings"),
              std::string::npos) << e.what();
  }
  j["process"]["user"]["additionalGids"] = {"5"};
  EXPECT_EQ(refused(j), "process.user.additionalGids[0]");
  j["process"]["user"]["additionalGids"] = 5;
  EXPECT_EQ(refused(j), "process.user.additionalGids");
  // With the single-id map sandbox writes itself (setgroups denied): refused, not dropped.
  j = base();
  j["process"]["user"]["additionalGids"] = {0};
  EXPECT_EQ(refused(j), "process.user.additionalGids");
  j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  EXPECT_EQ(refused(j), "process.user.additionalGids");
  // Without a user namespace (root): the host's groups, set with CAP_SETGID.
  j = base();
  j["linux"]["namespaces"] = {{{"type", "mount"}}};
  j["process"]["user"]["additionalGids"] = {10, 20};
  c = map(j, {"/b", 0, 0});
  ASSERT_TRUE(c.spec.groups);
  EXPECT_EQ(*c.spec.groups, (std::vector<gid_t>{10, 20}));
}

// Without a user namespace the ids are the caller's, or switched in place by a caller with
// CAP_SETUID and CAP_SETGID (root; uid 0 of rootless Podman's namespace).
TEST(OciConfig, WithoutAUserNamespaceTheIdsAreTheCallersOrSwitched) {
  json j = base();
  j["linux"]["namespaces"] = {{{"type", "mount"}}};
  MapInput root{"/b", 0, 0};
  Config c = map(j, root);
  EXPECT_FALSE(c.spec.unshare_user);
  EXPECT_FALSE(c.spec.set_ids_in_place);
  j["process"]["user"]["uid"] = 7;
  EXPECT_EQ(refused(j, root), "process.user");
  MapInput setid{"/b", 0, 0, true};
  c = map(j, setid);
  EXPECT_TRUE(c.spec.set_ids_in_place);
  EXPECT_EQ(c.spec.uid, std::optional<uid_t>(7));
  EXPECT_EQ(c.spec.gid, std::optional<gid_t>(0));
  // The caller's own ids need no switch.
  j["process"]["user"]["uid"] = 0;
  EXPECT_FALSE(map(j, setid).spec.set_ids_in_place);
  // With a user namespace the maps decide; no switch in place.
  j = base();
  j["process"]["user"]["uid"] = 0;
  EXPECT_FALSE(map(j, setid).spec.set_ids_in_place);
  j = base();
  j["linux"]["namespaces"] = {{{"type", "mount"}}};
  j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 0}, {"size", 1}}};
  EXPECT_EQ(refused(j, root), "linux.uidMappings");
}

TEST(OciConfig, Namespaces) {
  json j = base();
  j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "pid"}}, {{"type", "network"}},
                              {{"type", "ipc"}},   {{"type", "uts"}}, {{"type", "cgroup"}},
                              {{"type", "user"}}};
  Config c = map(j);
  EXPECT_TRUE(c.spec.unshare_pid);
  EXPECT_TRUE(c.spec.as_pid_1);  // the process is pid 1, as with runc
  EXPECT_TRUE(c.spec.unshare_net);
  EXPECT_TRUE(c.spec.unshare_ipc);
  EXPECT_TRUE(c.spec.unshare_uts);
  EXPECT_TRUE(c.spec.unshare_cgroup);
  EXPECT_TRUE(c.spec.unshare_user);
  // Joining by path: user and pid, opened by the runtime.
  j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "user"}, {"path", "/proc/1/ns/user"}},
                              {{"type", "pid"}, {"path", "/proc/1/ns/pid"}}};
  c = map(j);
  ASSERT_EQ(c.joins.size(), 2u);
  EXPECT_EQ(c.joins[0].type, "user");
  EXPECT_EQ(c.joins[0].path, "/proc/1/ns/user");
  EXPECT_EQ(c.joins[1].where, "linux.namespaces[2].path");
  EXPECT_FALSE(c.spec.unshare_user);
  EXPECT_FALSE(c.spec.unshare_pid);
  EXPECT_FALSE(c.spec.as_pid_1);
  EXPECT_FALSE(c.spec.uid);  // the joined namespace's maps decide
  j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "time"}}};
  EXPECT_EQ(refused(j), "linux.namespaces[1].type");
  j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "mount"}}};
  EXPECT_EQ(refused(j), "linux.namespaces[1]");
  j["linux"]["namespaces"] = {{{"type", "user"}}};
  EXPECT_EQ(refused(j), "linux.namespaces");
}

// network, ipc, uts and cgroup by path: joined (the runtime opens and checks them), none
// of them new; mount by path is refused (the root is always built in a new one).
TEST(OciConfig, JoiningNetworkIpcUtsCgroupByPath) {
  json j = base();
  j["linux"]["namespaces"] = {{{"type", "mount"}},
                              {{"type", "network"}, {"path", "/run/netns/x"}},
                              {{"type", "ipc"}, {"path", "/proc/7/ns/ipc"}},
                              {{"type", "uts"}, {"path", "/proc/7/ns/uts"}},
                              {{"type", "cgroup"}, {"path", "/proc/7/ns/cgroup"}},
                              {{"type", "user"}}};
  Config c = map(j);
  ASSERT_EQ(c.joins.size(), 4u);
  EXPECT_EQ(c.joins[0].type, "network");
  EXPECT_EQ(c.joins[0].path, "/run/netns/x");
  EXPECT_EQ(c.joins[0].where, "linux.namespaces[1].path");
  EXPECT_EQ(c.joins[3].type, "cgroup");
  EXPECT_FALSE(c.spec.unshare_net);
  EXPECT_FALSE(c.spec.unshare_ipc);
  EXPECT_FALSE(c.spec.unshare_uts);
  EXPECT_FALSE(c.spec.unshare_cgroup);
  EXPECT_TRUE(c.spec.unshare_user);  // a new user namespace still, made after the joins
  EXPECT_TRUE(c.spec.join_ns.empty());  // descriptors: set by the runtime once opened
  // Mount by path, a relative path: refused with the JSON path.
  j["linux"]["namespaces"][0] = {{"type", "mount"}, {"path", "/proc/7/ns/mnt"}};
  EXPECT_EQ(refused(j), "linux.namespaces[0].path");
  j["linux"]["namespaces"][0] = {{"type", "mount"}};
  j["linux"]["namespaces"][1]["path"] = "netns/x";
  EXPECT_EQ(refused(j), "linux.namespaces[1].path");
  // A joined network namespace is the container's: its sysctls are accepted (the runtime
  // refuses its own namespace); a cgroup mount in a joined cgroup namespace is not.
  j["linux"]["namespaces"][1]["path"] = "/run/netns/x";
  j["linux"]["sysctl"] = {{"net.ipv4.ping_group_range", "0 0"}, {"kernel.hostname", "x"}};
  EXPECT_EQ(map(j).spec.sysctls.size(), 2u);
  j["linux"].erase("sysctl");
  j["mounts"] = json::parse(R"([{"destination": "/sys/fs/cgroup", "type": "cgroup",
                                 "source": "cgroup", "options": ["ro"]}])");
  EXPECT_EQ(refused(j), "mounts[0].type");
}

TEST(OciConfig, Hostname) {
  json j = base();
  j["hostname"] = "box";
  EXPECT_EQ(refused(j), "hostname");  // no uts namespace
  j["linux"]["namespaces"].push_back({{"type", "uts"}});
  EXPECT_EQ(map(j).spec.hostname, "box");
  j["domainname"] = "example.org";
  EXPECT_EQ(refused(j), "domainname");
}

TEST(OciConfig, Mounts) {
  json j = base();
  j["mounts"] = json::parse(R"([
    {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro", "noexec"]},
    {"destination": "/opt", "source": "/opt", "options": ["bind", "nosuid", "nodev", "rprivate"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777", "size=1m", "noexec"]},
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["ro"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
  ])");
  Config c = map(j);
  auto binds = ops_of<BindOp>(c.spec);
  ASSERT_EQ(binds.size(), 4u);  // root, /data, /opt, /sys
  EXPECT_EQ(binds[1].source, "/bundle/data");
  EXPECT_EQ(binds[1].mode, BindOp::Mode::ReadOnly);
  EXPECT_TRUE(binds[1].noexec);
  EXPECT_EQ(binds[2].source, "/opt");
  EXPECT_EQ(binds[2].mode, BindOp::Mode::ReadWrite);
  EXPECT_FALSE(binds[2].noexec);
  EXPECT_EQ(binds[3].source, "/sys");  // the host's, read-only
  EXPECT_EQ(binds[3].mode, BindOp::Mode::ReadOnly);
  EXPECT_TRUE(binds[3].noexec);
  ASSERT_EQ(ops_of<DevOp>(c.spec).size(), 1u);  // devpts is part of it
  auto tmp = ops_of<TmpfsOp>(c.spec);
  ASSERT_EQ(tmp.size(), 1u);
  EXPECT_EQ(tmp[0].perms, 01777u);
  EXPECT_EQ(tmp[0].size, 1024u * 1024u);
  EXPECT_TRUE(tmp[0].noexec);
  EXPECT_FALSE(tmp[0].copy_up);
  EXPECT_EQ(ops_of<ProcOp>(c.spec).size(), 1u);
  EXPECT_EQ(ops_of<MqueueOp>(c.spec).size(), 1u);
  auto ro = ops_of<RemountRoOp>(c.spec);
  ASSERT_EQ(ro.size(), 1u);
  EXPECT_EQ(ro[0].dest, "/dev/mqueue");
  // A bind with "dev" keeps device nodes usable (--dev-bind).
  j["mounts"] = {{{"destination", "/d"}, {"type", "bind"}, {"source", "/dev/null"}, {"options", {"dev"}}}};
  EXPECT_EQ(ops_of<BindOp>(map(j).spec)[1].mode, BindOp::Mode::Devices);
}

// What Podman 4.3 sends for /dev, /sys/fs/cgroup and /dev/shm.
TEST(OciConfig, PodmansDevCgroupAndShmMounts) {
  json j = base();
  j["mounts"] = json::parse(R"([
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/shm", "type": "bind", "source": "/run/shm",
     "options": ["bind", "rprivate", "nosuid", "noexec", "nodev"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]}
  ])");
  Config c = map(j);
  auto dev = ops_of<DevOp>(c.spec);
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0].size, 65536u * 1024u);
  EXPECT_TRUE(dev[0].noexec);
  auto binds = ops_of<BindOp>(c.spec);
  ASSERT_EQ(binds.size(), 3u);
  EXPECT_EQ(binds[1].dest, "/dev/shm");
  EXPECT_TRUE(binds[1].noexec);
  EXPECT_EQ(binds[2].source, "/sys/fs/cgroup");  // the host's, read-only (no cgroup namespace)
  EXPECT_EQ(binds[2].mode, BindOp::Mode::ReadOnly);
  EXPECT_TRUE(binds[2].noexec);
  EXPECT_TRUE(ops_of<RemountRoOp>(c.spec).empty());  // ro is the bind's own
}

TEST(OciConfig, MountsRefused) {
  auto one = [](json m) {
    json j = base();
    j["mounts"] = {m};
    return refused(j);
  };
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "bind"}, {"source", "/x"}, {"options", {"suid"}}}),
            "mounts[0].options[0]");
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "tmpfs"}, {"options", {"mand"}}}),
            "mounts[0].options[0]");
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "tmpfs"}, {"options", {"nosuid", "suid"}}}),
            "mounts[0].options[1]");
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "tmpfs"}, {"options", {"mode=9z"}}}),
            "mounts[0].options[0]");
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "proc"}, {"options", {"nosuid", "hidepid=2"}}}),
            "mounts[0].options[1]");
  // tmpcopyup is a tmpfs's only (Podman's --read-only and --tmpfs): accepted there, set.
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "proc"}, {"options", {"tmpcopyup"}}}),
            "mounts[0].options[0]");
  {
    json j = base();
    j["mounts"] = {{{"destination", "/x"}, {"type", "tmpfs"}, {"options", {"rw", "tmpcopyup"}}}};
    auto t = ops_of<TmpfsOp>(map(j).spec);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_TRUE(t[0].copy_up);
  }
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "overlay"}}), "mounts[0].type");
  EXPECT_EQ(one({{"destination", "/x"}}), "mounts[0].type");
  EXPECT_EQ(one({{"destination", "x"}, {"type", "tmpfs"}}), "mounts[0].destination");
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "bind"}}), "mounts[0].source");
  EXPECT_EQ(one({{"destination", "/x"}, {"type", "tmpfs"}, {"uidMappings", json::array()}}),
            "mounts[0].uidMappings");
  // devpts only as part of sandbox's /dev.
  EXPECT_EQ(one({{"destination", "/dev/pts"}, {"type", "devpts"}}), "mounts[0].type");
  EXPECT_EQ(one({{"destination", "/dev"}, {"type", "tmpfs"}, {"options", {"uid=5"}}}),
            "mounts[0].options[0]");
  EXPECT_EQ(one({{"destination", "/dev"}, {"type", "tmpfs"}, {"options", {"mode=777"}}}),
            "mounts[0].options[0]");
  // A cgroup mount in a new cgroup namespace would show only its part: not a bind.
  json j = base();
  j["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  j["mounts"] = {{{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}}};
  EXPECT_EQ(refused(j), "mounts[0].type");
}

TEST(OciConfig, MaskedAndReadonlyPathsAfterTheMounts) {
  json j = base();
  j["root"]["readonly"] = true;
  j["mounts"] = {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}}};
  j["linux"]["maskedPaths"] = {"/proc/kcore", "/proc/acpi"};
  j["linux"]["readonlyPaths"] = {"/proc/sys"};
  Config c = map(j);
  auto covers = ops_of<CoverOp>(c.spec);
  ASSERT_EQ(covers.size(), 3u);
  EXPECT_EQ(covers[0].kind, CoverOp::Kind::ReadOnly);
  EXPECT_EQ(covers[0].dest, "/proc/sys");
  EXPECT_EQ(covers[1].kind, CoverOp::Kind::Mask);
  EXPECT_EQ(covers[1].dest, "/proc/kcore");
  // Root bind, proc, the three covers, then the root's read-only remount.
  ASSERT_EQ(c.spec.fs.size(), 6u);
  EXPECT_TRUE(std::holds_alternative<ProcOp>(c.spec.fs[1]));
  EXPECT_TRUE(std::holds_alternative<CoverOp>(c.spec.fs[2]));
  EXPECT_TRUE(std::holds_alternative<RemountRoOp>(c.spec.fs[5]));
  j["linux"]["maskedPaths"] = {"relative"};
  EXPECT_EQ(refused(j), "linux.maskedPaths[0]");
  j["linux"]["maskedPaths"] = "/proc/kcore";
  EXPECT_EQ(refused(j), "linux.maskedPaths");
}

TEST(OciConfig, Capabilities) {
  json j = base();
  Config c = map(j);  // none listed: none at all
  ASSERT_EQ(c.spec.caps.size(), 1u);
  EXPECT_EQ(c.spec.caps[0].add, false);
  EXPECT_EQ(c.spec.caps[0].cap, -1);
  j["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_CHOWN"}},
                                  {"effective", {"CAP_CHOWN", "CAP_KILL"}},
                                  {"permitted", {"CAP_KILL", "CAP_CHOWN"}}};
  c = map(j);
  ASSERT_EQ(c.spec.caps.size(), 3u);
  EXPECT_TRUE(c.spec.caps[1].add);
  security::CapSet got = security::resolve_caps(c.spec.caps, false, 0, ~0ULL);
  EXPECT_EQ(got, (1ULL << security::capability_from_name("kill")) |
                     (1ULL << security::capability_from_name("chown")));
  j["process"]["capabilities"]["effective"] = {"CAP_KILL"};
  EXPECT_EQ(refused(j), "process.capabilities.effective");
  j["process"]["capabilities"]["effective"] = {"CAP_KILL", "CAP_CHOWN"};
  j["process"]["capabilities"]["ambient"] = {"CAP_KILL"};
  EXPECT_EQ(refused(j), "process.capabilities.ambient");
  j["process"]["capabilities"]["ambient"] = {"CAP_KILL", "CAP_CHOWN"};
  EXPECT_EQ(refused(j), "");
  // A uid other than 0 keeps them only as ambient capabilities: the config must say so.
  j["process"]["user"]["uid"] = 5;
  EXPECT_EQ(refused(j), "");
  j["process"]["capabilities"].erase("ambient");
  EXPECT_EQ(refused(j), "process.capabilities.ambient");
  j = base();
  j["process"]["capabilities"] = {{"bounding", {"CAP_NOPE"}}};
  EXPECT_EQ(refused(j), "process.capabilities.bounding[0]");

  // Podman for a user other than root: its defaults as bounding, nothing held. The command
  // holds nothing; the bounding set is not kept beyond that (named for the --log note).
  j = base();
  j["process"]["user"]["uid"] = 1000;
  j["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_CHOWN"}}};
  c = map(j);
  EXPECT_EQ(security::resolve_caps(c.spec.caps, false, 0, ~0ULL), 0u);
  EXPECT_EQ(c.bounding_narrowed, (std::vector<std::string>{"CAP_CHOWN", "CAP_KILL"}));
  // Held within a wider bounding set: the held set, the rest named.
  j["process"]["user"]["uid"] = 0;
  j["process"]["capabilities"]["effective"] = {"CAP_KILL"};
  j["process"]["capabilities"]["permitted"] = {"CAP_KILL"};
  c = map(j);
  EXPECT_EQ(security::resolve_caps(c.spec.caps, false, 0, ~0ULL),
            1ULL << security::capability_from_name("kill"));
  EXPECT_EQ(c.bounding_narrowed, std::vector<std::string>{"CAP_CHOWN"});
  // Held but not in bounding: no bounding set can give that.
  j["process"]["capabilities"]["effective"] = {"CAP_SYS_ADMIN"};
  j["process"]["capabilities"]["permitted"] = {"CAP_SYS_ADMIN"};
  EXPECT_EQ(refused(j), "process.capabilities.permitted");
  // Effective and permitted still one set.
  j["process"]["capabilities"]["effective"] = {"CAP_KILL"};
  j["process"]["capabilities"]["permitted"] = {"CAP_KILL", "CAP_CHOWN"};
  EXPECT_EQ(refused(j), "process.capabilities.effective");
}

TEST(OciConfig, RlimitsAndNoNewPrivileges) {
  json j = base();
  j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 100}, {"hard", 200}},
                             {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}};
  j["process"]["noNewPrivileges"] = false;  // accepted: sandbox always sets it (stricter)
  Config c = map(j);
  ASSERT_EQ(c.spec.limits.rlimits.size(), 2u);
  EXPECT_EQ(c.spec.limits.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(c.spec.limits.rlimits[0].soft, 100u);
  EXPECT_EQ(c.spec.limits.rlimits[0].hard, 200u);
  EXPECT_EQ(c.spec.limits.rlimits[1].resource, RLIMIT_CORE);
  j["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"soft", 1}, {"hard", 1}}};
  EXPECT_EQ(refused(j), "process.rlimits[0]");
  j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 100}}};
  EXPECT_EQ(refused(j), "process.rlimits[0].hard");
}

TEST(OciConfig, Resources) {
  json j = base();
  j["linux"]["resources"] = json::parse(R"({
    "devices": [{"allow": false, "access": "rwm"}],
    "memory": {"limit": 67108864, "swap": 134217728},
    "pids": {"limit": 32},
    "cpu": {"quota": 50000, "period": 200000, "shares": 1024}
  })");
  Config c = map(j);
  EXPECT_EQ(c.spec.limits.memory, 64u << 20);
  EXPECT_EQ(c.spec.limits.memory_swap, 64u << 20);  // OCI's swap counts memory too
  EXPECT_EQ(c.spec.limits.pids, 32u);
  EXPECT_EQ(c.spec.limits.cpu_quota_us, 25000u);  // a quarter of a CPU
  EXPECT_EQ(c.spec.limits.cpu_weight, 39u);       // runc's shares -> weight
  j["linux"]["resources"]["pids"]["limit"] = -1;  // unlimited: no limit
  EXPECT_FALSE(map(j).spec.limits.pids);
  j["linux"]["resources"]["devices"].push_back({{"allow", true}, {"type", "c"}, {"major", 1}});
  EXPECT_EQ(refused(j), "linux.resources.devices[1]");
  j = base();
  j["linux"]["resources"] = {{"memory", {{"limit", 100}, {"swap", 50}}}};
  EXPECT_EQ(refused(j), "linux.resources.memory.swap");
  j["linux"]["resources"] = {{"memory", {{"reservation", 100}}}};
  EXPECT_EQ(refused(j), "linux.resources.memory.reservation");
  j["linux"]["resources"] = {{"cpu", {{"cpus", "0-1"}}}};
  EXPECT_EQ(refused(j), "linux.resources.cpu.cpus");
  j["linux"]["resources"] = {{"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 1}}}}};
  EXPECT_EQ(refused(j), "linux.resources.hugepageLimits");
}

TEST(OciConfig, SeccompIsHandedOverAsItsJson) {
  json j = base();
  j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", json::array()}};
  Config c = map(j);
  ASSERT_TRUE(c.seccomp_json);
  EXPECT_EQ(json::parse(*c.seccomp_json), j["linux"]["seccomp"]);
  j["linux"]["seccomp"] = "x";
  EXPECT_EQ(refused(j), "linux.seccomp");
}

TEST(OciConfig, TerminalAndConsoleSize) {
  json j = base();
  Config c = map(j);
  EXPECT_FALSE(c.terminal);
  EXPECT_EQ(c.spec.console_rows, 0u);
  EXPECT_EQ(c.spec.console_cols, 0u);
  EXPECT_FALSE(c.spec.console_fd);  // the runtime sets it, from --console-socket
  j["process"]["terminal"] = true;
  j["process"]["consoleSize"] = {{"height", 33}, {"width", 77}};
  c = map(j);
  EXPECT_TRUE(c.terminal);
  EXPECT_EQ(c.spec.console_rows, 33u);
  EXPECT_EQ(c.spec.console_cols, 77u);
  EXPECT_FALSE(c.spec.console_fd);
  j["process"]["terminal"] = false;  // the size alone asks for nothing
  c = map(j);
  EXPECT_FALSE(c.terminal);
  j["process"]["consoleSize"] = json::object();
  j["process"]["terminal"] = true;
  c = map(j);
  EXPECT_EQ(c.spec.console_rows, 0u);  // the kernel's default size
}

TEST(OciConfig, HooksMapEveryKindInOrderWithTheirJsonPaths) {
  json j = base();
  j["hooks"] = json::parse(R"({
    "prestart": [{"path": "/bin/pre"}],
    "createRuntime": [{"path": "/bin/cr", "args": ["cr", "-x"], "env": ["A=1", "B=2=3"],
                       "timeout": 5},
                      {"path": "/bin/cr2"}],
    "createContainer": [{"path": "/bin/cc"}],
    "startContainer": [{"path": "/bin/sc"}],
    "poststart": [{"path": "/bin/ps"}],
    "poststop": [{"path": "/bin/pst", "timeout": 1}]
  })");
  Config c = map(j);
  ASSERT_EQ(c.hooks.prestart.size(), 1u);
  EXPECT_EQ(c.hooks.prestart[0].where, "hooks.prestart[0]");
  ASSERT_EQ(c.hooks.create_runtime.size(), 2u);
  const Hook& h = c.hooks.create_runtime[0];
  EXPECT_EQ(h.path, "/bin/cr");
  EXPECT_EQ(h.args, (std::vector<std::string>{"cr", "-x"}));
  EXPECT_EQ(h.env, (std::vector<std::string>{"A=1", "B=2=3"}));
  EXPECT_EQ(h.timeout_s, 5);
  EXPECT_EQ(c.hooks.create_runtime[1].where, "hooks.createRuntime[1]");
  EXPECT_FALSE(c.hooks.create_runtime[1].timeout_s);
  EXPECT_TRUE(c.hooks.create_runtime[1].args.empty());
  EXPECT_EQ(c.hooks.create_container.at(0).path, "/bin/cc");
  EXPECT_EQ(c.hooks.start_container.at(0).path, "/bin/sc");
  EXPECT_EQ(c.hooks.poststart.at(0).path, "/bin/ps");
  EXPECT_EQ(c.hooks.poststop.at(0).timeout_s, 1);
  EXPECT_FALSE(c.hooks.empty());
  EXPECT_TRUE(map(base()).hooks.empty());
  // The features document lists every kind.
  EXPECT_EQ(json::parse(features_json())["hooks"],
            json({"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                  "poststop"}));
}

TEST(OciConfig, BadHooksRefusedByTheirPath) {
  auto with = [](json hook) {
    json j = base();
    j["hooks"] = {{"createRuntime", {{{"path", "/bin/ok"}}, hook}}};
    return refused(j);
  };
  EXPECT_EQ(with({{"path", "/bin/true"}}), "");  // the control: a good one maps
  EXPECT_EQ(with({{"path", "bin/true"}}), "hooks.createRuntime[1].path");  // relative
  EXPECT_EQ(with({{"path", ""}}), "hooks.createRuntime[1].path");
  EXPECT_EQ(with({{"args", {"x"}}}), "hooks.createRuntime[1].path");  // missing
  EXPECT_EQ(with({{"path", 7}}), "hooks.createRuntime[1].path");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"timeout", 0}}), "hooks.createRuntime[1].timeout");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"timeout", -3}}), "hooks.createRuntime[1].timeout");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"timeout", 1.5}}), "hooks.createRuntime[1].timeout");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"timeout", "5"}}), "hooks.createRuntime[1].timeout");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"timeout", 86401}}), "hooks.createRuntime[1].timeout");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"timeout", 86400}}), "");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"user", "x"}}), "hooks.createRuntime[1].user");  // unknown
  EXPECT_EQ(with({{"path", "/bin/true"}, {"args", "x"}}), "hooks.createRuntime[1].args");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"args", {"a", 1}}}), "hooks.createRuntime[1].args[1]");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"env", {"NOEQUALS"}}}), "hooks.createRuntime[1].env[0]");
  EXPECT_EQ(with({{"path", "/bin/true"}, {"env", {"=x"}}}), "hooks.createRuntime[1].env[0]");
  EXPECT_EQ(with("/bin/true"), "hooks.createRuntime[1]");  // not an object
  json j = base();
  j["hooks"] = {{"poststop", {{"path", "/bin/true"}}}};  // an object, not an array
  EXPECT_EQ(refused(j), "hooks.poststop");
  j["hooks"] = json::array();
  EXPECT_EQ(refused(j), "hooks");
}

TEST(OciConfig, UnsupportedMembersNamedByTheirPath) {
  auto with = [](const std::string& ptr, json v) {
    json j = base();
    j[json::json_pointer(ptr)] = v;
    return refused(j);
  };
  EXPECT_EQ(with("/hooks/preStart", json::array()), "hooks.preStart");  // unknown kind
  EXPECT_EQ(with("/linux/cgroupsPath", 1), "linux.cgroupsPath");  // a string, when given
  EXPECT_EQ(with("/linux/devices", {{{"path", "/dev/fuse"}}}), "linux.devices");
  EXPECT_EQ(with("/linux/rootfsPropagation", "shared"), "linux.rootfsPropagation");
  EXPECT_EQ(with("/linux/somethingNew", 1), "linux.somethingNew");
  EXPECT_EQ(with("/process/terminal", "yes"), "process.terminal");  // a boolean
  EXPECT_EQ(with("/process/consoleSize", {{"height", 1}, {"depth", 2}}), "process.consoleSize.depth");
  EXPECT_EQ(with("/process/consoleSize", {{"height", -1}}), "process.consoleSize.height");
  EXPECT_EQ(with("/process/consoleSize", {{"width", 70000}}), "process.consoleSize.width");
  EXPECT_EQ(with("/process/consoleSize", 24), "process.consoleSize");
  EXPECT_EQ(with("/process/apparmorProfile", "x"), "process.apparmorProfile");
  EXPECT_EQ(with("/process/oomScoreAdj", 100), "process.oomScoreAdj");
  EXPECT_EQ(with("/process/bogus", 1), "process.bogus");
  EXPECT_EQ(with("/vm", json::object({{"x", 1}})), "vm");
  EXPECT_EQ(with("/ociVersion", "2.0.0"), "ociVersion");
  // Empty ones ask for nothing.
  EXPECT_EQ(with("/linux/devices", json::array()), "");
  EXPECT_EQ(with("/hooks", json::object()), "");
  EXPECT_EQ(with("/annotations", {{"org.example", "x"}}), "");  // informational
  EXPECT_EQ(refused(json::parse("[]")), "(document)");
  try {
    map_config("{not json", kIn);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), "(document)");
  }
}

// linux.cgroupsPath is accepted and kept for the runtime's note; it changes no limit.
TEST(OciConfig, CgroupsPathIsAcceptedAndPlacesNothing) {
  json j = base();
  j["linux"]["cgroupsPath"] = "user.slice:libpod:abc";
  Config c = map(j);
  EXPECT_EQ(c.cgroups_path, "user.slice:libpod:abc");
  EXPECT_FALSE(c.spec.limits.wants_cgroup());
  EXPECT_FALSE(c.spec.limits.cgroup_parent);
  j["linux"]["cgroupsPath"] = "";
  EXPECT_FALSE(map(j).cgroups_path);
  j["linux"]["cgroupsPath"] = "/libpod_parent/libpod-abc";
  j["linux"]["resources"] = {{"memory", {{"limit", 67108864}}}};
  c = map(j);
  EXPECT_EQ(c.spec.limits.memory, 67108864u);  // through sandbox's limits code
  EXPECT_FALSE(c.spec.limits.cgroup_parent);    // never under the path given
}

TEST(OciConfig, SysctlsOfTheNewNamespaces) {
  json j = base();
  j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "user"}}, {{"type", "network"}},
                              {{"type", "ipc"}}, {{"type", "uts"}}};
  j["linux"]["sysctl"] = {{"net.ipv4.ping_group_range", "0 0"},
                          {"kernel.shmmax", "65536"},
                          {"kernel.msgmax", "8192"},
                          {"kernel.sem", "250 32000 32 128"},
                          {"fs.mqueue.msg_max", "20"},
                          {"kernel.domainname", "example"},
                          {"net.ipv4.conf.all.forwarding", "1"}};
  Spec s = map(j).spec;
  ASSERT_EQ(s.sysctls.size(), 7u);
  // nlohmann's object keeps its keys sorted: the order they are written in.
  EXPECT_EQ(s.sysctls[0], (std::pair<std::string, std::string>{"fs.mqueue.msg_max", "20"}));
  EXPECT_EQ(s.sysctls.back(),
            (std::pair<std::string, std::string>{"net.ipv4.ping_group_range", "0 0"}));

  auto only = [](json namespaces, const std::string& key, json value = "1") {
    json c = base();
    c["linux"]["namespaces"] = namespaces;
    c["linux"]["sysctl"] = {{key, value}};
    return refused(c);
  };
  const json all = {{{"type", "mount"}}, {{"type", "user"}}, {{"type", "network"}},
                    {{"type", "ipc"}}, {{"type", "uts"}}};
  const json none = {{{"type", "mount"}}, {{"type", "user"}}};
  // Each namespaced one needs its namespace new.
  EXPECT_EQ(only(none, "net.ipv4.ip_forward"), "linux.sysctl[\"net.ipv4.ip_forward\"]");
  EXPECT_EQ(only(none, "kernel.shmall"), "linux.sysctl[\"kernel.shmall\"]");
  EXPECT_EQ(only(none, "fs.mqueue.queues_max"), "linux.sysctl[\"fs.mqueue.queues_max\"]");
  EXPECT_EQ(only(none, "kernel.hostname", "x"), "linux.sysctl[\"kernel.hostname\"]");
  EXPECT_EQ(only(all, "net.ipv4.ip_forward"), "");
  EXPECT_EQ(only(all, "kernel.hostname", "x"), "");
  // A system-wide one is refused even with every namespace.
  EXPECT_EQ(only(all, "kernel.panic"), "linux.sysctl[\"kernel.panic\"]");
  EXPECT_EQ(only(all, "vm.overcommit_memory"), "linux.sysctl[\"vm.overcommit_memory\"]");
  EXPECT_EQ(only(all, "fs.file-max"), "linux.sysctl[\"fs.file-max\"]");
  EXPECT_EQ(only(all, "kernel.shm_next_id_but_not"), "");  // kernel.shm*: the ipc namespace's
  // Never a path: '/', "..", empty components.
  for (const char* bad : {"net/ipv4/ip_forward", "net.ipv4/../../kernel/panic", "net..ipv4",
                          ".net.ipv4", "net.ipv4.", "net.ipv4.a b", ""})
    EXPECT_EQ(only(all, bad), std::string("linux.sysctl[\"") + bad + "\"]") << bad;
  // Values are strings.
  EXPECT_EQ(only(all, "net.ipv4.ip_forward", 1), "linux.sysctl[\"net.ipv4.ip_forward\"]");
}

TEST(OciConfig, SignalNames) {
  EXPECT_EQ(signal_from_name("TERM"), SIGTERM);
  EXPECT_EQ(signal_from_name("SIGKILL"), SIGKILL);
  EXPECT_EQ(signal_from_name("hup"), SIGHUP);
  EXPECT_EQ(signal_from_name("9"), 9);
  EXPECT_EQ(signal_from_name("RTMIN+1"), SIGRTMIN + 1);
  EXPECT_EQ(signal_from_name("SIGRTMAX"), SIGRTMAX);
  EXPECT_EQ(signal_from_name("NOPE"), -1);
  EXPECT_EQ(signal_from_name("0"), -1);
  EXPECT_EQ(signal_from_name("99"), -1);
}

TEST(OciRuntime, ContainerIds) {
  EXPECT_TRUE(valid_container_id("abc-1.2_x+y"));
  EXPECT_TRUE(valid_container_id(std::string(64, 'f')));
  EXPECT_FALSE(valid_container_id(""));
  EXPECT_FALSE(valid_container_id(".."));
  EXPECT_FALSE(valid_container_id("a/b"));
  EXPECT_FALSE(valid_container_id("-rf"));
  EXPECT_FALSE(valid_container_id(std::string(1025, 'a')));
}

// The default --root: real root's /run, else $XDG_RUNTIME_DIR (also for uid 0 inside a
// user namespace, decided from uid_map).
TEST(OciRuntime, DefaultRoot) {
  EXPECT_TRUE(initial_uid_map("         0          0 4294967295\n"));
  EXPECT_FALSE(initial_uid_map("         0      65534          1\n"));
  EXPECT_FALSE(initial_uid_map("0 0 4294967294\n"));
  EXPECT_FALSE(initial_uid_map("0 0 1000\n1000 100000 65536\n"));
  EXPECT_FALSE(initial_uid_map(""));
  EXPECT_EQ(default_root(true, true, "/run/user/0"), "/run/sandbox-oci");
  EXPECT_EQ(default_root(true, true, nullptr), "/run/sandbox-oci");
  EXPECT_EQ(default_root(true, false, "/run/user/1000"), "/run/user/1000/sandbox-oci");
  EXPECT_EQ(default_root(false, true, "/run/user/1000"), "/run/user/1000/sandbox-oci");
  EXPECT_EQ(default_root(true, false, nullptr), "");
  EXPECT_EQ(default_root(false, true, ""), "");
  EXPECT_EQ(default_root(false, true, "run/user/1"), "");
}

TEST(OciRuntime, StateDocument) {
  json s = json::parse(state_json("c1", "running", 42, "/b", "2026-01-01T00:00:00Z"));
  EXPECT_EQ(s["ociVersion"], "1.2.0");
  EXPECT_EQ(s["id"], "c1");
  EXPECT_EQ(s["status"], "running");
  EXPECT_EQ(s["pid"], 42);
  EXPECT_EQ(s["bundle"], "/b");
  json f = json::parse(features_json());
  EXPECT_EQ(f["ociVersionMax"], "1.2.0");
  EXPECT_EQ(f["linux"]["seccomp"]["enabled"], true);
  EXPECT_NE(std::find(f["linux"]["namespaces"].begin(), f["linux"]["namespaces"].end(), "user"),
            f["linux"]["namespaces"].end());
  EXPECT_NE(std::find(f["linux"]["capabilities"].begin(), f["linux"]["capabilities"].end(),
                      "CAP_SYS_ADMIN"),
            f["linux"]["capabilities"].end());
}

}  // namespace
}  // namespace sb::oci
