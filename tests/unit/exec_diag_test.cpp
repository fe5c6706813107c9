// Exec diagnostics: PT_INTERP and #! parsing, and the explanation built from a fake
// sandbox root and a fake host root (directories standing in for both).
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "launch/exec_diag.hpp"
#include "util/fd.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using sb::UniqueFd;
using namespace sb::launch;

namespace {

// A minimal ELF executable image: header, one PT_LOAD, optionally a PT_INTERP.
template <typename Ehdr, typename Phdr>
std::string make_elf(unsigned char cls, const std::string& interp) {
  Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = cls;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_phoff = sizeof eh;
  eh.e_phentsize = sizeof(Phdr);
  eh.e_phnum = interp.empty() ? 1 : 2;
  std::vector<Phdr> ph(eh.e_phnum);
  ph[0].p_type = PT_LOAD;
  size_t data_off = sizeof eh + ph.size() * sizeof(Phdr);
  if (!interp.empty()) {
    ph[1].p_type = PT_INTERP;
    ph[1].p_offset = data_off;
    ph[1].p_filesz = interp.size() + 1;
  }
  std::string out(reinterpret_cast<char*>(&eh), sizeof eh);
  out.append(reinterpret_cast<char*>(ph.data()), ph.size() * sizeof(Phdr));
  out += interp;
  out += '\0';
  return out;
}

class ExecDiagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ + "/in");
    fs::create_directories(dir_ + "/host");
  }

  std::string write(const std::string& path, const std::string& content) {
    std::string p = tmp_.write(path, content);
    fs::permissions(p, fs::perms::owner_all);
    return p;
  }
  ElfInterp interp_of(const std::string& content) {
    UniqueFd fd(::open(write("f", content).c_str(), O_RDONLY | O_CLOEXEC));
    return read_elf_interp(fd.get());
  }
  std::string explain(const std::string& cmd, const std::string& path = "/usr/bin:/bin",
                      bool host = true) {
    UniqueFd in(::open((dir_ + "/in").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd h(::open((dir_ + "/host").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return explain_exec_failure(ENOENT, cmd, path, in.get(), host ? h.get() : -1);
  }
  sb::test::TempDir tmp_;
  std::string dir_ = tmp_.path();
};

TEST_F(ExecDiagTest, ReadsPtInterpFrom64BitElf) {
  auto r = interp_of(make_elf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, "/lib64/ld-linux-x86-64.so.2"));
  EXPECT_TRUE(r.is_elf);
  EXPECT_EQ(r.interp, "/lib64/ld-linux-x86-64.so.2");
}

TEST_F(ExecDiagTest, ReadsPtInterpFrom32BitElf) {
  auto r = interp_of(make_elf<Elf32_Ehdr, Elf32_Phdr>(ELFCLASS32, "/lib/ld-linux.so.2"));
  EXPECT_TRUE(r.is_elf);
  EXPECT_EQ(r.interp, "/lib/ld-linux.so.2");
}

TEST_F(ExecDiagTest, StaticElfHasNoInterpreter) {
  auto r = interp_of(make_elf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, ""));
  EXPECT_TRUE(r.is_elf);
  EXPECT_FALSE(r.interp);
}

TEST_F(ExecDiagTest, NonElfAndTruncatedFiles) {
  EXPECT_FALSE(interp_of("#!/bin/sh\necho hi\n").is_elf);
  EXPECT_FALSE(interp_of("").is_elf);
  std::string elf = make_elf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, "/lib64/ld.so");
  auto r = interp_of(elf.substr(0, sizeof(Elf64_Ehdr) + 10));  // program headers cut off
  EXPECT_TRUE(r.is_elf);
  EXPECT_FALSE(r.interp);
}

TEST_F(ExecDiagTest, RealDynamicBinaryInterpreterExists) {
  UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  auto r = read_elf_interp(fd.get());
  ASSERT_TRUE(r.is_elf);
  ASSERT_TRUE(r.interp);  // the test binary is linked dynamically
  EXPECT_EQ(::access(r.interp->c_str(), F_OK), 0) << *r.interp;
}

TEST(Shebang, ParsesAsTheKernelDoes) {
  auto s = parse_shebang("#!/bin/sh\necho\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->interp, "/bin/sh");
  EXPECT_EQ(s->arg, "");
  s = parse_shebang("#! \t/usr/bin/env  python3 -u \r\nprint()\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->interp, "/usr/bin/env");
  EXPECT_EQ(s->arg, "python3 -u");  // the rest of the line is one argument
  s = parse_shebang("#!/bin/sh");   // no newline within the bytes read
  ASSERT_TRUE(s);
  EXPECT_EQ(s->interp, "/bin/sh");
  EXPECT_FALSE(parse_shebang("#!   \nx"));
  EXPECT_FALSE(parse_shebang("# !/bin/sh\n"));
  EXPECT_FALSE(parse_shebang(""));
}

TEST_F(ExecDiagTest, MissingInterpreterBehindHostSymlink) {
  write("in/usr/bin/prog", make_elf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, "/lib64/ld.so"));
  fs::create_directories(dir_ + "/host/usr/lib64");
  fs::create_directory_symlink("usr/lib64", dir_ + "/host/lib64");
  std::string m = explain("prog");
  EXPECT_NE(m.find("ELF interpreter /lib64/ld.so"), std::string::npos) << m;
  EXPECT_NE(m.find("/lib64 does not exist in the sandbox"), std::string::npos) << m;
  EXPECT_NE(m.find("--symlink usr/lib64 /lib64"), std::string::npos) << m;
}

TEST_F(ExecDiagTest, MissingScriptInterpreterHostDirectory) {
  write("in/usr/bin/tool", "#!/opt/py/bin/python -E\nprint(1)\n");
  fs::create_directories(dir_ + "/host/opt/py/bin");
  std::string m = explain("tool");
  EXPECT_NE(m.find("script for /opt/py/bin/python"), std::string::npos) << m;
  EXPECT_NE(m.find("--ro-bind /opt /opt"), std::string::npos) << m;
}

TEST_F(ExecDiagTest, ScriptInterpreterPresentButItsElfInterpreterMissing) {
  write("in/usr/bin/tool", "#!/usr/bin/interp\n");
  write("in/usr/bin/interp", make_elf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, "/lib64/ld.so"));
  std::string m = explain("/usr/bin/tool");
  EXPECT_NE(m.find("script for /usr/bin/interp"), std::string::npos) << m;
  EXPECT_NE(m.find("ELF interpreter /lib64/ld.so"), std::string::npos) << m;
  EXPECT_NE(m.find("nor on the host"), std::string::npos) << m;
}

TEST_F(ExecDiagTest, CommandNotInSandboxPathButOnHost) {
  fs::create_directories(dir_ + "/in/usr/bin");
  write("host/usr/local/bin/foo", "x");
  std::string m = explain("foo", "/usr/local/bin:/usr/bin");
  EXPECT_NE(m.find("foo is not in any directory of the sandbox's PATH (/usr/local/bin:/usr/bin)"),
            std::string::npos) << m;
  EXPECT_NE(m.find("the host has /usr/local/bin/foo"), std::string::npos) << m;
  EXPECT_NE(m.find("--ro-bind /usr/local /usr/local"), std::string::npos) << m;
  m = explain("bar", "/usr/bin");
  EXPECT_NE(m.find("nor in those of the host"), std::string::npos) << m;
  m = explain("foo", "/usr/local/bin", false);
  EXPECT_EQ(m, "foo is not in any directory of the sandbox's PATH (/usr/local/bin)");
}

TEST_F(ExecDiagTest, AbsoluteCommandMissingAndDanglingSymlink) {
  fs::create_directories(dir_ + "/in/usr");
  std::string m = explain("/usr/games/fortune");
  EXPECT_NE(m.find("/usr/games does not exist in the sandbox"), std::string::npos) << m;
  fs::create_symlink("nowhere/x", dir_ + "/in/usr/link");
  m = explain("/usr/link/cmd");
  EXPECT_NE(m.find("/usr/link is a symlink to nowhere/x"), std::string::npos) << m;
}

TEST_F(ExecDiagTest, PermissionDeniedSaysWhy) {
  UniqueFd in(::open((dir_ + "/in").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  write("in/bin/plain", "data");
  fs::permissions(dir_ + "/in/bin/plain", fs::perms::owner_read | fs::perms::owner_write);
  fs::create_directories(dir_ + "/in/bin/adir");
  EXPECT_EQ(explain_exec_failure(EACCES, "plain", "/bin", in.get(), -1),
            "/bin/plain has no execute permission (mode 0600)");
  EXPECT_EQ(explain_exec_failure(EACCES, "/bin/adir", "/bin", in.get(), -1),
            "/bin/adir is a directory");
  EXPECT_EQ(explain_exec_failure(EPERM, "/bin/plain", "/bin", in.get(), -1), "");
}

}  // namespace

// The supervisor explains from outside the sandbox: an absolute symlink inside it must
// resolve within the sandbox's tree, never on the host the supervisor sees. Here the
// sandbox's /lib64 -> /usr/lib64 (absolute) leads to an interpreter that exists inside,
// so there is nothing missing; on this host /usr/lib64/sb-test-ld.so does not exist.
TEST_F(ExecDiagTest, AbsoluteSymlinksResolveInsideTheSandboxTree) {
  write("in/usr/bin/prog", make_elf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, "/lib64/sb-test-ld.so"));
  write("in/usr/lib64/sb-test-ld.so", "x");
  fs::create_directory_symlink("/usr/lib64", dir_ + "/in/lib64");
  ASSERT_FALSE(fs::exists("/usr/lib64/sb-test-ld.so"));
  EXPECT_EQ(explain("prog"), "");
  // And one that points out of the tree ("/../../etc") stays in it.
  fs::create_symlink("/../../../etc/hostname", dir_ + "/in/usr/bin/esc");
  std::string m = explain("/usr/bin/esc");
  EXPECT_NE(m.find("does not exist in the sandbox"), std::string::npos) << m;
}

// The child's ExecFailed report: "ERRNO\0COMMAND\0PATH\0MESSAGE", split at each NUL.
TEST(ExecReport, ParsesFourFields) {
  auto r = parse_exec_report(std::string("2\0/bin/x\0/usr/bin:/bin\0no such file", 35));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->err, 2);
  EXPECT_EQ(r->command, "/bin/x");
  EXPECT_EQ(r->path_env, "/usr/bin:/bin");
  EXPECT_EQ(r->message, "no such file");
  r = parse_exec_report(std::string("13\0\0\0", 5));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->err, 13);
  EXPECT_EQ(r->command, "");
  EXPECT_EQ(r->message, "");
}

TEST(ExecReport, MalformedReportIsSaidSo) {
  EXPECT_FALSE(parse_exec_report(""));
  EXPECT_FALSE(parse_exec_report(std::string("2\0cmd\0path", 10)));
  EXPECT_FALSE(parse_exec_report(std::string("2\0a\0b\0c\0d", 9)));
  EXPECT_EQ(exec_failure_message("garbage", {}),
            "Can't execute the command (malformed report from the sandbox)");
  // Without the sandbox's descriptors only the child's own explanation is left.
  EXPECT_EQ(exec_failure_message(std::string("2\0/x\0/bin\0Can't execute /x: gone", 32), {}),
            "Can't execute /x: gone");
}
