// `exec` (src/oci/exec.cpp): the command line, the process object it builds (runc's rules),
// the mapping of that object against the saved config.json, and the rule that exec never
// gets more than the container's command (capabilities, hard limits).
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "oci/exec.hpp"
#include "util/error.hpp"

namespace sb::oci {
namespace {

using json = nlohmann::json;

std::vector<std::string> words(std::initializer_list<const char*> w) {
  std::vector<std::string> out = {"exec"};
  for (const char* s : w) out.emplace_back(s);
  return out;
}
ExecRequest parse(std::initializer_list<const char*> w) { return parse_exec_args(words(w), 1); }

// The message parse_exec_args (or `f`) throws, "" when it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
std::string parse_error(std::initializer_list<const char*> w) {
  return error_of([&] { parse(w); });
}

const char kConfig[] = R"({
  "ociVersion": "1.0.2",
  "root": {"path": "rootfs"},
  "process": {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin", "A=1"],
              "user": {"uid": 0, "gid": 0},
              "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"],
                               "effective": ["CAP_KILL", "CAP_CHOWN"],
                               "permitted": ["CAP_KILL", "CAP_CHOWN"]}},
  "linux": {"namespaces": [{"type": "mount"}, {"type": "user"}, {"type": "pid"}],
            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}
})";
const MapInput kIn{"/bundle", 1000, 1000};

TEST(OciExec, ArgsOptionsAndTheCommandAfterTheId) {
  ExecRequest r = parse({"-d", "--pid-file", "/p", "-e", "X=1", "--env=Y=2", "--cwd", "/tmp",
                         "-u", "0:0", "--cap", "CAP_KILL", "--no-new-privs", "--preserve-fds",
                         "2", "c1", "sh", "-c", "echo -e x"});
  EXPECT_EQ(r.id, "c1");
  EXPECT_EQ(r.args, (std::vector<std::string>{"sh", "-c", "echo -e x"}));  // options after the ID are the command's
  EXPECT_TRUE(r.detach);
  EXPECT_EQ(r.pid_file, "/p");
  EXPECT_EQ(r.env, (std::vector<std::string>{"X=1", "Y=2"}));
  EXPECT_EQ(r.cwd, "/tmp");
  EXPECT_EQ(r.user, "0:0");
  EXPECT_EQ(r.caps, (std::vector<std::string>{"CAP_KILL"}));
  EXPECT_TRUE(r.no_new_privs);
  EXPECT_EQ(r.preserve_fds, 2u);
  r = parse({"--process", "/p.json", "c1"});
  EXPECT_EQ(r.process_file, "/p.json");
  EXPECT_TRUE(r.args.empty());
  r = parse({"-t", "--console-socket", "/s", "--", "c1", "true"});
  EXPECT_TRUE(r.tty);
  EXPECT_EQ(r.console_socket, "/s");
  EXPECT_EQ(r.id, "c1");
}

TEST(OciExec, ArgsRefused) {
  EXPECT_EQ(parse_error({}), "exec: missing the container ID");
  EXPECT_EQ(parse_error({"c1"}), "exec: missing the command (or --process FILE)");
  EXPECT_EQ(parse_error({"--process", "/p", "c1", "true"}),
            "exec: give either --process FILE or the command after the ID, not both");
  EXPECT_EQ(parse_error({"--bogus", "c1", "true"}), "exec: unknown option --bogus");
  EXPECT_EQ(parse_error({"c1", "--pid-file"}), "");  // after the ID: the command's words
  EXPECT_EQ(parse_error({"--pid-file"}), "exec: --pid-file takes an argument");
  EXPECT_EQ(parse_error({"--detach=yes", "c1", "true"}), "exec: --detach takes no argument");
  EXPECT_EQ(parse_error({"-e", "NOEQUALS", "c1", "true"}), "exec: --env 'NOEQUALS': expected NAME=VALUE");
  EXPECT_EQ(parse_error({"--cwd", "tmp", "c1", "true"}), "exec: --cwd must be an absolute path");
  EXPECT_EQ(parse_error({"--preserve-fds", "x", "c1", "true"}),
            "exec: --preserve-fds 'x': expected a number");
  // Options sandbox-runc cannot honour: refused by name, never ignored.
  for (const char* o : {"--process-label", "--apparmor", "--cgroup"}) {
    std::string e = parse_error({o, "v", "c1", "true"});
    EXPECT_EQ(e.rfind(std::string("exec: ") + o + " is not supported", 0), 0u) << e;
  }
}

TEST(OciExec, TheProcessIsTheConfigsWithTheCommandLinesEdits) {
  ExecRequest r = parse({"-e", "X=1", "--cwd", "/tmp", "-u", "7:8", "--cap", "CAP_SYS_ADMIN",
                         "c1", "id", "-u"});
  json p = json::parse(exec_process(kConfig, r, std::nullopt));
  EXPECT_EQ(p["args"], json({"id", "-u"}));
  EXPECT_EQ(p["env"], json({"PATH=/bin", "A=1", "X=1"}));  // appended, as runc
  EXPECT_EQ(p["cwd"], "/tmp");
  EXPECT_EQ(p["user"]["uid"], 7);
  EXPECT_EQ(p["user"]["gid"], 8);
  EXPECT_EQ(p["capabilities"]["bounding"], json({"CAP_KILL", "CAP_CHOWN", "CAP_SYS_ADMIN"}));
  EXPECT_EQ(p["capabilities"]["effective"], p["capabilities"]["bounding"]);
  EXPECT_FALSE(p["capabilities"].contains("ambient"));  // empty sets stay empty
  // -u UID alone keeps the config's gid; a name is refused (not looked up).
  p = json::parse(exec_process(kConfig, parse({"-u", "5", "c1", "true"}), std::nullopt));
  EXPECT_EQ(p["user"]["uid"], 5);
  EXPECT_EQ(p["user"]["gid"], 0);
  EXPECT_EQ(error_of([] { exec_process(kConfig, parse({"-u", "root", "c1", "true"}), std::nullopt); }),
            "exec: --user 'root': expected UID[:GID] as numbers (names are not looked up in the "
            "container)");
  // --process: the file is the whole process; the edits do not combine with it.
  const std::string pj = R"({"args": ["true"], "cwd": "/"})";
  p = json::parse(exec_process(kConfig, parse({"-t", "--process", "/p", "c1"}), pj));
  EXPECT_EQ(p["args"], json({"true"}));
  EXPECT_EQ(p["terminal"], true);
  EXPECT_FALSE(p.contains("env"));
  EXPECT_NE(error_of([&] { exec_process(kConfig, parse({"-e", "X=1", "--process", "/p", "c1"}), pj); }),
            "");
  EXPECT_EQ(error_of([&] { exec_process(kConfig, parse({"--process", "/p", "c1"}), "[1]"); }),
            "exec: process.json: must be an object");
}

TEST(OciExec, MappedAsConfigJsonsProcess) {
  Config c = map_exec(kConfig, exec_process(kConfig, parse({"-e", "X=1", "c1", "id"}), std::nullopt), kIn);
  EXPECT_EQ(c.spec.command, std::vector<std::string>{"id"});
  EXPECT_EQ(apply_env({"HOST=1"}, c.spec.env), (std::vector<std::string>{"PATH=/bin", "A=1", "X=1"}));
  EXPECT_EQ(c.spec.uid, 0u);
  // Refusals name the process file's member.
  EXPECT_EQ(error_of([] {
              map_exec(kConfig, R"({"args": ["id"], "cwd": "/", "user": {"uid": 1000, "gid": 0}})", kIn);
            }),
            "exec: process.json: process.user.uid: 1000 is not mapped (linux.uidMappings maps only 0)");
  EXPECT_EQ(error_of([] { map_exec(kConfig, R"({"args": ["id"], "cwd": "/", "oomScoreAdj": 3})", kIn); })
                .rfind("exec: process.json: process.oomScoreAdj", 0),
            0u);
  EXPECT_EQ(error_of([] { map_exec(kConfig, R"({"args": [], "cwd": "/"})", kIn); }),
            "exec: process.json: process.args: empty");
}

TEST(OciExec, TheTerminalIsTakenOutOfTheProcess) {
  std::string p = R"({"args": ["sh"], "terminal": true, "consoleSize": {"height": 24, "width": 80}})";
  TerminalRequest t = take_terminal(p);
  EXPECT_TRUE(t.on);
  EXPECT_EQ(t.rows, 24u);
  EXPECT_EQ(t.cols, 80u);
  EXPECT_EQ(json::parse(p), json::parse(R"({"args": ["sh"]})"));  // the mapping sees neither
  p = R"({"args": ["sh"], "terminal": false})";
  t = take_terminal(p);
  EXPECT_FALSE(t.on);
  EXPECT_EQ(t.rows, 0u);
  p = R"({"args": ["sh"], "terminal": "yes"})";
  EXPECT_EQ(error_of([&] { take_terminal(p); }), "exec: process.json: process.terminal: must be a boolean");
  p = R"({"args": ["sh"], "consoleSize": {"height": 70000, "width": 1}})";
  EXPECT_EQ(error_of([&] { take_terminal(p); }),
            "exec: process.json: process.consoleSize.height: must be a number up to 65535");
  // -t sets it on the process built from config.json.
  p = exec_process(kConfig, parse({"-t", "c1", "sh"}), std::nullopt);
  EXPECT_TRUE(take_terminal(p).on);
}

// --additional-gids (runc's -g, repeatable, comma-separated) becomes the process's
// additionalGids, mapped as config.json's: through with a multi-range gid map (the
// container's maps were written from outside), refused with the single-id map.
TEST(OciExec, AdditionalGidsAsConfigJsonsAndOnlyWhereTheGidMapAllows) {
  ExecRequest r = parse({"-g", "5,6", "--additional-gids=7", "c1", "id"});
  EXPECT_EQ(r.additional_gids, (std::vector<uint64_t>{5, 6, 7}));
  EXPECT_EQ(parse_error({"-g", "5,x", "c1", "id"}),
            "exec: --additional-gids '5,x': expected GID[,GID...] as numbers");
  EXPECT_EQ(parse_error({"-g", "", "c1", "id"}),
            "exec: --additional-gids '': expected GID[,GID...] as numbers");
  json p = json::parse(exec_process(kConfig, r, std::nullopt));
  EXPECT_EQ(p["user"]["additionalGids"], json({5, 6, 7}));
  EXPECT_EQ(p["user"]["uid"], 0);  // the rest of process.user stays the config's
  EXPECT_NE(error_of([&] { exec_process(kConfig, parse({"-g", "5", "--process", "/p", "c1"}), "{}"); }),
            "");
  // The single-id map: setgroups is denied in that namespace, so refused, naming the member.
  EXPECT_EQ(error_of([&] { map_exec(kConfig, exec_process(kConfig, r, std::nullopt), kIn); })
                .rfind("exec: process.json: process.user.additionalGids: supplementary groups need "
                       "linux.gidMappings written from outside", 0),
            0u);
  // Several ranges: the groups come through (and the ids the map holds), an unmapped one not.
  json multi = json::parse(kConfig);
  multi["linux"]["uidMappings"] = json::parse(R"([{"containerID": 0, "hostID": 1000, "size": 1},
                                                   {"containerID": 1, "hostID": 100000, "size": 65536}])");
  multi["linux"]["gidMappings"] = multi["linux"]["uidMappings"];
  multi["process"].erase("capabilities");  // uid 1000 would need them ambient as well
  const std::string mc = multi.dump();
  Config c = map_exec(mc, exec_process(mc, parse({"-u", "1000:1000", "-g", "5,6", "c1", "id"}), std::nullopt), kIn);
  EXPECT_FALSE(c.spec.id_maps.empty());  // exec switches ids inside (ExecLaunch::switch_ids)
  EXPECT_EQ(c.spec.uid, 1000u);
  ASSERT_TRUE(c.spec.groups.has_value());
  EXPECT_EQ(*c.spec.groups, (std::vector<gid_t>{5, 6}));
  EXPECT_EQ(error_of([&] { map_exec(mc, exec_process(mc, parse({"-g", "70000", "c1", "id"}), std::nullopt), kIn); }),
            "exec: process.json: process.user.additionalGids[0]: gid 70000 is not mapped in "
            "linux.gidMappings");
}

TEST(OciExec, CapabilitiesNeverMoreThanTheContainers) {
  const uint64_t ctr = (1ULL << CAP_KILL) | (1ULL << CAP_CHOWN);
  EXPECT_EQ(exec_caps(ctr, ctr), ctr);
  EXPECT_EQ(exec_caps(1ULL << CAP_KILL, ctr), 1ULL << CAP_KILL);  // narrower: as asked
  EXPECT_EQ(exec_caps(0, ctr), 0u);
  EXPECT_EQ(error_of([&] { exec_caps(ctr | (1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_NET_RAW), ctr); }),
            "exec: the process asks for capabilities the container was not given: CAP_NET_RAW, "
            "CAP_SYS_ADMIN");
}

TEST(OciExec, RlimitsNeverAboveTheContainersHardLimit) {
  auto rl = [](int res, const char* name, uint64_t soft, uint64_t hard) {
    RlimitSetting s;
    s.resource = res;
    s.name = name;
    s.soft = soft;
    s.hard = hard;
    return s;
  };
  std::vector<RlimitSetting> ctr = {rl(RLIMIT_NOFILE, "nofile", 100, 200)};
  auto out = exec_rlimits(ctr, {rl(RLIMIT_NOFILE, "nofile", 50, 150), rl(RLIMIT_CORE, "core", 0, 0)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].hard, 200u);  // the container's first, then the process's (later wins)
  EXPECT_EQ(out[1].hard, 150u);
  EXPECT_EQ(out[2].resource, RLIMIT_CORE);
  EXPECT_EQ(exec_rlimits(ctr, {}).size(), 1u);
  EXPECT_EQ(error_of([&] { exec_rlimits(ctr, {rl(RLIMIT_NOFILE, "nofile", 10, Limits::kUnlimited)}); }),
            "exec: process.json: rlimit nofile: hard limit unlimited is above the container's (200)");
}

TEST(OciExec, AnSELinuxLabelIsRefusedNotDropped) {
  EXPECT_EQ(error_of([] { check_exec_label("", std::nullopt); }), "");
  EXPECT_EQ(error_of([] { check_exec_label("", std::string()); }), "");
  const std::string why = "exec: process.selinuxLabel: an SELinux label for exec is not supported yet";
  EXPECT_EQ(error_of([] { check_exec_label("ctr_t", std::nullopt); }), why);  // the container's
  EXPECT_EQ(error_of([] { check_exec_label("", std::string("x_t")); }), why);  // the process's
  // Mapped from either spelling of the process.
  Config c = map_exec(kConfig, R"({"args": ["id"], "cwd": "/", "selinuxLabel": "x_t"})", kIn);
  EXPECT_EQ(error_of([&] { check_exec_label("", c.spec.exec_label); }), why);
}

TEST(OciExec, ConfinementRoundTrip) {
  Confinement c;
  c.caps = 0x21;
  RlimitSetting s;
  s.resource = RLIMIT_NPROC;
  s.name = "nproc";
  s.soft = 10;
  s.hard = Limits::kUnlimited;
  c.rlimits = {s};
  c.cgroup = true;
  c.exec_label = "system_u:system_r:container_t:s0";
  Confinement d = parse_confinement(confinement_json(c));
  EXPECT_EQ(d.caps, 0x21u);
  ASSERT_EQ(d.rlimits.size(), 1u);
  EXPECT_EQ(d.rlimits[0].resource, RLIMIT_NPROC);
  EXPECT_EQ(d.rlimits[0].hard, Limits::kUnlimited);
  EXPECT_TRUE(d.cgroup);
  EXPECT_EQ(d.exec_label, "system_u:system_r:container_t:s0");
  EXPECT_FALSE(d.landlock);
  EXPECT_EQ(error_of([] { parse_confinement(R"({"caps": 1})"); }).rfind("malformed exec.json", 0), 0u);
}

}  // namespace
}  // namespace sb::oci
