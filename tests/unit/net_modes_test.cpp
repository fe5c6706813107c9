// Unit tests for the --net mode table (net/modes.cpp) and the planning that reads it:
// one row per mode, parsing by the rows' names, the mode a Spec resolves to, the helper
// found on PATH, and the option checks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "net/egress.hpp"
#include "net/net.hpp"
#include "plan/plan.hpp"
#include "util/error.hpp"
#include "temp_dir.hpp"

namespace sb::net {
namespace {

constexpr NetMode kAll[] = {NetMode::Default, NetMode::None,       NetMode::Host, NetMode::Pasta,
                            NetMode::Slirp4netns, NetMode::Veth, NetMode::User};

TEST(NetModes, OneRowPerModeInEnumOrder) {
  auto rows = mode_rows();
  ASSERT_EQ(rows.size(), std::size(kAll));
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].mode, kAll[i]) << i;
    EXPECT_EQ(mode_row(kAll[i]).mode, kAll[i]) << i;
    EXPECT_NE(std::string(rows[i].name), "") << i;
    EXPECT_NE(std::string(rows[i].label), "") << i;
  }
}

TEST(NetModes, RowsAreConsistent) {
  for (const ModeRow& r : mode_rows()) {
    SCOPED_TRACE(r.name);
    // What the child waits for or hands over is what a session started outside needs.
    if (r.ready || r.ns_fds) {
      EXPECT_NE(r.start, nullptr);
    }
    if (r.start) {
      EXPECT_TRUE(r.ready);
    }
    // A resolv.conf naming a forwarder only where a helper runs one.
    if (r.resolv_conf) {
      EXPECT_TRUE(r.helper.program && r.start);
    }
    if (r.publish_ipv6) {
      EXPECT_TRUE(r.publish);
    }
    // A mode with picks is resolved at planning: it never starts anything itself.
    if (r.picks[0] != NetMode::Default) {
      EXPECT_EQ(r.start, nullptr);
      EXPECT_EQ(r.helper.program, nullptr);
      for (NetMode p : r.picks) EXPECT_NE(mode_row(p).helper.program, nullptr);
    }
    if (r.helper.program) {
      EXPECT_NE(r.helper.package, nullptr);
    }
  }
}

// What the supervisor and child do per mode, as before the table.
TEST(NetModes, WhatEachModeStarts) {
  auto plan_for = [](NetMode m) {
    Plan p;
    p.net = m;
    return p;
  };
  for (NetMode m : {NetMode::None, NetMode::Host}) {
    EXPECT_FALSE(needs_ns_fds(plan_for(m)));
    EXPECT_FALSE(needs_ready(plan_for(m)));
    EXPECT_FALSE(resolv_conf(plan_for(m)));
    EXPECT_EQ(start(Spec{}, plan_for(m), 1), nullptr);
  }
  for (NetMode m : {NetMode::Pasta, NetMode::Slirp4netns}) {
    EXPECT_TRUE(needs_ns_fds(plan_for(m)));
    EXPECT_TRUE(needs_ready(plan_for(m)));
    auto conf = resolv_conf(plan_for(m));
    ASSERT_TRUE(conf);
    EXPECT_NE(conf->find(std::string("nameserver ") + kUserModeDns + "\n"), std::string::npos);
  }
  EXPECT_FALSE(needs_ns_fds(plan_for(NetMode::Veth)));
  EXPECT_TRUE(needs_ready(plan_for(NetMode::Veth)));
  EXPECT_FALSE(resolv_conf(plan_for(NetMode::Veth)));
  EXPECT_EQ(std::string(label(plan_for(NetMode::Pasta))), "pasta");
  EXPECT_EQ(std::string(label(plan_for(NetMode::Slirp4netns))), "slirp4netns");
  EXPECT_EQ(std::string(label(plan_for(NetMode::Veth))), "the veth network");
}

TEST(NetModes, ParseByRowName) {
  for (const ModeRow& r : mode_rows())
    if (r.selectable) {
      EXPECT_EQ(parse_mode(r.name), r.mode) << r.name;
    }
  try {
    parse_mode("default");  // the absence of --net, not a value of it
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--net: unknown mode 'default' (none, host, pasta, slirp4netns, veth or user)");
  }
}

TEST(NetModes, EffectiveMode) {
  EXPECT_EQ(effective_mode(NetMode::Default, false), NetMode::Host);
  EXPECT_EQ(effective_mode(NetMode::Default, true), NetMode::None);
  EXPECT_EQ(effective_mode(NetMode::Host, false), NetMode::Host);
  EXPECT_EQ(effective_mode(NetMode::Host, true), NetMode::None);  // --net host --unshare-net
  EXPECT_EQ(effective_mode(NetMode::Pasta, true), NetMode::Pasta);
  EXPECT_EQ(effective_mode(NetMode::Pasta, false), NetMode::Host);  // then --share-net
  EXPECT_EQ(effective_mode(NetMode::User, true), NetMode::User);
  EXPECT_EQ(effective_mode(NetMode::None, true), NetMode::None);
}

TEST(NetModes, ModesWithAFeature) {
  EXPECT_EQ(modes_with(&ModeRow::publish), "pasta, slirp4netns, veth or user");
  EXPECT_EQ(modes_with(&ModeRow::host_loopback), "pasta, slirp4netns or user");
  EXPECT_EQ(modes_with(&ModeRow::publish_ipv6), "pasta");
  EXPECT_EQ(modes_with(&ModeRow::subnet), "veth");
}

// One advice for /dev/net/tun, shared by --net's error and `sandbox doctor`.
TEST(NetModes, TunAdvice) {
  EXPECT_EQ(tun_fix(ENOENT), "load the tun kernel module (modprobe tun)");
  for (int err : {EACCES, EPERM})
    EXPECT_NE(tun_fix(err).find("chmod 0666 /dev/net/tun"), std::string::npos) << err;
  EXPECT_EQ(tun_fix(EIO), "");  // nothing a user could change
}

// plan() with a PATH of fake helpers in a temporary directory.
class NetPlan : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* p = std::getenv("PATH")) saved_ = p;
    ::setenv("PATH", dir_.path().c_str(), 1);
  }
  void TearDown() override {
    if (saved_) ::setenv("PATH", saved_->c_str(), 1);
    else ::unsetenv("PATH");
  }
  void install(const std::string& name) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n";
    ::chmod(path.c_str(), 0755);
  }
  Plan plan_for(NetMode m, uid_t uid, const std::vector<PortForward>& publish = {}) {
    Spec s;
    s.net = m;
    s.unshare_net = true;
    s.publish = publish;
    HostFacts h;
    h.uid = uid;  // root: no /dev/net/tun check, which depends on this host
    Plan p;
    plan(s, h, p);
    return p;
  }
  static std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  test::TempDir dir_;
  std::optional<std::string> saved_;
};

TEST_F(NetPlan, UserPicksPastaThenSlirp4netns) {
  EXPECT_EQ(error_of([&] { plan_for(NetMode::User, 0); }),
            "--net user: neither pasta (Debian package passt) nor slirp4netns (Debian package "
            "slirp4netns) was found on PATH");
  install("slirp4netns");
  Plan p = plan_for(NetMode::User, 0);
  EXPECT_EQ(p.net, NetMode::Slirp4netns);
  EXPECT_EQ(p.net_helper, dir_.path() + "/slirp4netns");
  install("pasta");
  p = plan_for(NetMode::User, 0);
  EXPECT_EQ(p.net, NetMode::Pasta);
  EXPECT_EQ(p.net_helper, dir_.path() + "/pasta");
}

TEST_F(NetPlan, HelperMissingOrRootOnly) {
  EXPECT_EQ(error_of([&] { plan_for(NetMode::Pasta, 0); }),
            "--net pasta: pasta was not found on PATH (install the Debian package passt)");
  EXPECT_EQ(error_of([&] { plan_for(NetMode::Veth, 23456); }),
            "--net veth needs root: it creates a bridge, a veth pair and NAT rules on the host "
            "(unprivileged callers can use --net pasta or --net slirp4netns)");
  install("nft");
  EXPECT_EQ(plan_for(NetMode::Veth, 0).net_helper, dir_.path() + "/nft");
  EXPECT_EQ(plan_for(NetMode::None, 23456).net_helper, "");
}

TEST_F(NetPlan, OptionsCheckedAgainstTheMode) {
  install("slirp4netns");
  PortForward v6;
  v6.text = "[::1]:8080:80";
  v6.host_addr = "::1";
  v6.host_port = 8080;
  v6.sandbox_port = 80;
  EXPECT_EQ(error_of([&] { plan_for(NetMode::None, 0, {v6}); }),
            "--publish [::1]:8080:80 requires --net pasta, slirp4netns, veth or user (the "
            "network is 'none')");
  EXPECT_EQ(error_of([&] { plan_for(NetMode::Slirp4netns, 0, {v6}); }),
            "--publish [::1]:8080:80: IPv6 host addresses need --net pasta");
  PortForward a = parse_publish("8080:80"), b = parse_publish("0.0.0.0:8080:81");
  EXPECT_NE(error_of([&] { plan_for(NetMode::Slirp4netns, 0, {a, b}); })
                .find("host port 8080/tcp is already published by --publish 8080:80"),
            std::string::npos);
  Spec s;
  s.net = NetMode::Slirp4netns;
  s.unshare_net = true;
  s.subnet = parse_subnet("10.9.0.0/24");
  HostFacts root;
  Plan p;
  EXPECT_EQ(error_of([&] { plan(s, root, p); }), "--subnet requires --net veth");
  s.subnet.reset();
  s.net = NetMode::Host;
  s.unshare_net = false;
  s.net_host_loopback = true;
  EXPECT_EQ(error_of([&] { plan(s, root, p); }),
            "--net-host-loopback requires --net pasta, slirp4netns or user (the network is "
            "'host')");
}

TEST_F(NetPlan, AllowNetNeedsARoutedModeNotNft) {
  install("slirp4netns");
  Spec s;
  s.allow_net = {parse_allow_net("10.0.0.0/8:443")};
  HostFacts root;
  Plan p;
  // Fail closed: an allowlist on the host's network, or on none, is refused.
  for (NetMode m : {NetMode::Host, NetMode::None}) {
    s.net = m;
    s.unshare_net = m != NetMode::Host;
    EXPECT_EQ(error_of([&] { plan(s, root, p); }),
              std::string("--allow-net requires --net pasta, slirp4netns, veth or user (the "
                          "network is '") + mode_row(m).name + "')");
  }
  s.net = NetMode::Slirp4netns;
  s.unshare_net = true;
  // The table is loaded over nfnetlink by the setup child: no nft is looked for (an empty
  // PATH without nft still plans).
  p = Plan{};
  plan(s, root, p);
  EXPECT_TRUE(p.egress);
  EXPECT_FALSE(p.egress_dns);
  // DNS names: the filter needs the namespaces handed over (not veth); resolv.conf names it.
  s.allow_net.push_back(parse_allow_net("*.pypi.org:443"));
  p = Plan{};
  plan(s, root, p);
  EXPECT_TRUE(p.egress_dns);
  EXPECT_NE(resolv_conf(p).value_or("").find("nameserver 127.0.0.1\n"), std::string::npos);
  install("nft");  // --net veth itself runs nft
  s.net = NetMode::Veth;
  EXPECT_EQ(error_of([&] { plan(s, root, p); }),
            "--allow-net: '*.pypi.org:443' names a DNS name, which needs --net pasta, slirp4netns "
            "or user (the network is 'veth')");
  // Without --allow-net no table.
  Spec none;
  none.net = NetMode::Slirp4netns;
  none.unshare_net = true;
  Plan q;
  plan(none, root, q);
  EXPECT_FALSE(q.egress);
}

}  // namespace
}  // namespace sb::net

// The sweep of stale private directories considers exactly mkdtemp's names.
TEST(NetPrivateDir, NameIsThePrefixAndSixLettersOrDigits) {
  EXPECT_TRUE(sb::net::is_private_dir_name("sandbox-net-aZ09xQ"));
  EXPECT_FALSE(sb::net::is_private_dir_name("sandbox-net-"));
  EXPECT_FALSE(sb::net::is_private_dir_name("sandbox-net-abcde"));
  EXPECT_FALSE(sb::net::is_private_dir_name("sandbox-net-abcdefg"));
  EXPECT_FALSE(sb::net::is_private_dir_name("sandbox-net-abc/ef"));
  EXPECT_FALSE(sb::net::is_private_dir_name("sandbox-net-..abcd"));
  EXPECT_FALSE(sb::net::is_private_dir_name("sandbox-nex-abcdef"));
  EXPECT_FALSE(sb::net::is_private_dir_name("xsandbox-net-abcdef"));
}
