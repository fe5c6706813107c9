#include "harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace it {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fatal(const std::string& msg) {
  std::fprintf(stderr, "integration harness: %s\n", msg.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string errstr() { return std::strerror(errno); }

// The copy of the binary, made once per process and removed at exit.
struct BinaryCopy {
  std::string dir;
  std::string path;
  std::string name;
  std::string alias;

  BinaryCopy() {
    const char* bin = std::getenv("SANDBOX_BIN");
    if (bin == nullptr || *bin == '\0')
      fatal(
          "SANDBOX_BIN is not set: point it at the sandbox binary to test "
          "(e.g. SANDBOX_BIN=build/sandbox)");
    std::error_code ec;
    fs::path src = fs::absolute(bin, ec);
    if (ec || !fs::is_regular_file(src, ec))
      fatal(std::string("SANDBOX_BIN=") + bin + " is not a regular file");
    char tmpl[] = "/tmp/sandbox-it-bin-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) fatal("mkdtemp: " + errstr());
    dir = tmpl;
    if (::chmod(dir.c_str(), 0755) != 0) fatal("chmod " + dir + ": " + errstr());
    name = src.filename().string();
    // Laid out as an install (PREFIX/bin/sandbox, PREFIX/share/sandbox/...): the binary
    // finds its profiles relative to itself, as an installed one does.
    std::string bin_dir = dir + "/bin";
    if (::mkdir(bin_dir.c_str(), 0755) != 0) fatal("mkdir " + bin_dir + ": " + errstr());
    path = bin_dir + "/" + name;
    fs::copy_file(src, path, ec);
    if (ec) fatal("copying " + src.string() + " to " + path + ": " + ec.message());
    if (::chmod(path.c_str(), 0755) != 0) fatal("chmod " + path + ": " + errstr());
#ifdef SANDBOX_TEST_SOURCE_DIR
    const char* srcdir = SANDBOX_TEST_SOURCE_DIR;
#else
    const char* srcdir = std::getenv("SANDBOX_SOURCE_DIR");
#endif
    if (srcdir && *srcdir) {
      for (const char* sub : {"profiles", "seccomp-profiles"}) {
        fs::path to = fs::path(dir) / "share/sandbox" / sub;
        fs::create_directories(to, ec);
        if (!ec) fs::copy(fs::path(srcdir) / sub, to, fs::copy_options::recursive, ec);
        if (ec) fatal("copying " + std::string(srcdir) + "/" + sub + ": " + ec.message());
      }
      // World-readable, like an install, for the unprivileged uid.
      std::string chmod = "chmod -R a+rX " + dir + "/share";
      if (std::system(chmod.c_str()) != 0) fatal(chmod + " failed");
    }
  }
  ~BinaryCopy() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

BinaryCopy& binary() {
  static BinaryCopy copy;
  return copy;
}

// Fails the whole run clearly (before any test) when SANDBOX_BIN is missing.
class BinaryEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* bin = std::getenv("SANDBOX_BIN");
    ASSERT_TRUE(bin != nullptr && *bin != '\0')
        << "SANDBOX_BIN is not set: point it at the sandbox binary to test";
    ASSERT_TRUE(fs::is_regular_file(bin)) << "SANDBOX_BIN=" << bin << " is not a file";
    (void)binary();
  }
};
[[maybe_unused]] ::testing::Environment* const g_env =
    ::testing::AddGlobalTestEnvironment(new BinaryEnvironment);

std::vector<std::string> clean_env(const std::vector<std::string>& extra) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "LC_ALL=C",
      "LANG=C",
  };
  for (const char* keep : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* v = std::getenv(keep)) env.push_back(std::string(keep) + "=" + v);
  for (const auto& e : extra) {
    auto eq = e.find('=');
    std::string key = e.substr(0, eq == std::string::npos ? e.size() : eq + 1);
    env.erase(std::remove_if(env.begin(), env.end(),
                             [&](const std::string& x) { return x.rfind(key, 0) == 0; }),
              env.end());
    env.push_back(e);
  }
  return env;
}

std::vector<char*> cstrs(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void child_fail(const char* what) {
  // Only async-signal-safe calls here.
  const char* e = std::strerror(errno);
  ssize_t n = ::write(2, "harness child: ", 15);
  n = ::write(2, what, std::strlen(what));
  n = ::write(2, ": ", 2);
  n = ::write(2, e, std::strlen(e));
  n = ::write(2, "\n", 1);
  (void)n;
  ::_exit(127);
}

std::atomic<unsigned> g_counter{0};

}  // namespace

// ---- The binary ------------------------------------------------------------------------------

bool is_root() { return ::geteuid() == 0; }
const std::string& sandbox_path() { return binary().path; }
const std::string& invoked_name() { return binary().name; }
const std::string& bwrap_alias_path() {
  BinaryCopy& b = binary();
  if (b.alias.empty()) {
    std::string d = b.dir + "/alias";
    if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) fatal("mkdir " + d + ": " + errstr());
    ::chmod(d.c_str(), 0755);
    std::string link = d + "/bwrap";
    if (::symlink(b.path.c_str(), link.c_str()) != 0 && errno != EEXIST)
      fatal("symlink " + link + ": " + errstr());
    b.alias = link;
  }
  return b.alias;
}

uid_t unpriv_uid() { return is_root() ? kUnprivUid : ::getuid(); }
gid_t unpriv_gid() { return is_root() ? kUnprivGid : ::getgid(); }

// ---- Running ---------------------------------------------------------------------------------

std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  auto clip = [](const std::string& s) {
    return s.size() > 3000 ? s.substr(0, 3000) + "...[truncated]" : s;
  };
  os << "\n  exit_code: " << r.exit_code << (r.timed_out ? " (TIMED OUT)" : "") << "\n  stdout: <<<"
     << clip(r.out) << ">>>\n  stderr: <<<" << clip(r.err) << ">>>";
  return os;
}

std::unique_ptr<Proc> spawn(const Args& args, const RunOpts& o) {
  std::string exe = o.exe.value_or(sandbox_path());
  std::vector<std::string> argv_s;
  argv_s.push_back(o.argv0.value_or(fs::path(exe).filename().string()));
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s = clean_env(o.env);
  std::vector<char*> argv = cstrs(argv_s);
  std::vector<char*> envp = cstrs(env_s);
  const bool drop = o.unprivileged && is_root();
  std::vector<int> leak = o.leak_fds;
  std::sort(leak.begin(), leak.end());
  for (int fd : leak)
    if (fd < 3) fatal("leak_fds must be > 2");

  int out_p[2], err_p[2], in_p[2] = {-1, -1};
  if (::pipe2(out_p, O_CLOEXEC) != 0 || ::pipe2(err_p, O_CLOEXEC) != 0) fatal("pipe2: " + errstr());
  if (o.stdin_data) {
    if (o.stdin_data->size() > 60000) fatal("stdin_data too large for the pipe buffer");
    if (::pipe2(in_p, O_CLOEXEC) != 0) fatal("pipe2: " + errstr());
  }
  const char* cwd = o.cwd.c_str();

  pid_t pid = ::fork();
  if (pid < 0) fatal("fork: " + errstr());
  if (pid == 0) {
    ::setpgid(0, 0);
    // A clean signal state: nothing blocked or ignored (a harness started in the background
    // by a shell has SIGINT ignored, which exec would pass on).
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);

    int in_fd = o.stdin_data ? in_p[0] : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) child_fail("open /dev/null");
    if (::dup2(in_fd, 0) < 0 || ::dup2(out_p[1], 1) < 0 || ::dup2(err_p[1], 2) < 0)
      child_fail("dup2");
    // Close everything above 2, then open the descriptors the caller "leaks".
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    }
    for (int fd : leak) {
      int n = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
      if (n < 0) child_fail("open /dev/null");
      if (n != fd) {
        if (::dup2(n, fd) < 0) child_fail("dup2 leak fd");
        ::close(n);
      }
    }
    if (::chdir(cwd) != 0) child_fail("chdir");
    ::umask(022);
    if (o.in_child && !o.in_child()) child_fail("RunOpts::in_child");
    if (drop) {
      if (::setgroups(0, nullptr) != 0) child_fail("setgroups");
      if (::setresgid(kUnprivGid, kUnprivGid, kUnprivGid) != 0) child_fail("setresgid");
      if (::setresuid(kUnprivUid, kUnprivUid, kUnprivUid) != 0) child_fail("setresuid");
    }
    ::execve(exe.c_str(), argv.data(), envp.data());
    child_fail("execve");
  }
  ::setpgid(pid, pid);  // no race with the child's own setpgid
  ::close(out_p[1]);
  ::close(err_p[1]);
  if (o.stdin_data) {
    ::close(in_p[0]);
    const std::string& d = *o.stdin_data;
    size_t off = 0;
    while (off < d.size()) {
      ssize_t n = ::write(in_p[1], d.data() + off, d.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EPIPE: the sandbox did not read it all
      off += static_cast<size_t>(n);
    }
    ::close(in_p[1]);
  }
  return std::make_unique<Proc>(pid, out_p[0], err_p[0], o.timeout);
}

RunResult run(const Args& args, const RunOpts& o) { return spawn(args, o)->wait(o.timeout); }

Proc::Proc(pid_t pid, int out_fd, int err_fd, std::chrono::milliseconds default_timeout)
    : pid_(pid), fds_{out_fd, err_fd}, default_timeout_(default_timeout) {
  for (int fd : fds_) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

Proc::~Proc() {
  if (!reaped_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    reap_now(true);
  }
  for (int& fd : fds_)
    if (fd >= 0) ::close(fd), fd = -1;
}

void Proc::signal(int sig) const {
  if (!reaped_) ::kill(pid_, sig);
}

void Proc::reap_now(bool block) {
  if (reaped_) return;
  int st = 0;
  pid_t r;
  do r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == pid_) {
    reaped_ = true;
    status_ = st;
  }
}

bool Proc::pump(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& done) {
  while (true) {
    if (done()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    pollfd p[2];
    int n = 0;
    for (int i = 0; i < 2; ++i)
      if (fds_[i] >= 0) p[n++] = {fds_[i], POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    int wait_ms = static_cast<int>(std::min<long long>(left, 20));
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    } else {
      ::poll(p, static_cast<nfds_t>(n), wait_ms);
      for (int i = 0; i < 2; ++i) {
        if (fds_[i] < 0) continue;
        char buf[65536];
        while (true) {
          ssize_t r = ::read(fds_[i], buf, sizeof buf);
          if (r > 0) {
            (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r < 0 && errno == EINTR) continue;
          if (r == 0) {
            ::close(fds_[i]);
            fds_[i] = -1;
          }
          break;  // EOF or EAGAIN
        }
      }
    }
    reap_now(false);
  }
}

bool Proc::wait_for_stdout(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pump(deadline,
       [&] { return out_.find(needle) != std::string::npos || (reaped_ && fds_[0] < 0); });
  return out_.find(needle) != std::string::npos;
}

RunResult Proc::wait() { return wait(default_timeout_); }

RunResult Proc::wait(std::chrono::milliseconds timeout) {
  RunResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!pump(deadline, [&] { return reaped_; })) {
    r.timed_out = true;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    reap_now(true);
  }
  // Collect what is left in the pipes. Stop at EOF, or shortly after the exit if some
  // process that outlived the sandbox still holds them.
  pump(std::chrono::steady_clock::now() + 500ms, [&] { return fds_[0] < 0 && fds_[1] < 0; });
  r.exit_code = WIFEXITED(status_)     ? WEXITSTATUS(status_)
                : WIFSIGNALED(status_) ? 128 + WTERMSIG(status_)
                                       : -1;
  r.out = out_;
  r.err = err_;
  return r;
}

// ---- Command lines ---------------------------------------------------------------------------

namespace {
struct RootEntry {
  std::string name;
  bool symlink_to_usr;
};
std::vector<RootEntry> root_entries() {
  std::vector<RootEntry> v;
  for (const char* n : {"bin", "lib", "lib64", "sbin", "lib32", "libx32"}) {
    std::string p = std::string("/") + n;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    bool link = false;
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t len = ::readlink(p.c_str(), buf, sizeof buf - 1);
      if (len > 0) {
        std::string t(buf, static_cast<size_t>(len));
        link = t == std::string("usr/") + n || t == std::string("/usr/") + n;
      }
    }
    v.push_back({n, link});
  }
  return v;
}
}  // namespace

Args base_root() {
  Args a = {"--ro-bind", "/usr", "/usr"};
  for (const auto& e : root_entries()) {
    if (e.symlink_to_usr)
      a.insert(a.end(), {"--symlink", "usr/" + e.name, "/" + e.name});
    else
      a.insert(a.end(), {"--ro-bind", "/" + e.name, "/" + e.name});
  }
  return a;
}

std::set<std::string> base_root_entries() {
  std::set<std::string> s = {"usr"};
  for (const auto& e : root_entries()) s.insert(e.name);
  return s;
}

Args cat(std::initializer_list<Args> parts) {
  Args a;
  for (const auto& p : parts) a.insert(a.end(), p.begin(), p.end());
  return a;
}

Args with_root(const Args& extra) { return cat({base_root(), extra}); }

Args sh(const std::string& script) { return {"--", "sh", "-c", script}; }

// ---- Host inspection ---------------------------------------------------------------------------

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
  std::vector<MountEntry> v;
  for (const auto& l : lines(text)) {
    auto w = words(l);
    auto dash = std::find(w.begin(), w.end(), "-");
    if (w.size() < 7 || dash == w.end()) continue;
    MountEntry m;
    std::sscanf(w[2].c_str(), "%u:%u", &m.major, &m.minor);
    m.root = w[3];
    m.mountpoint = w[4];
    m.options = w[5];
    if (dash + 1 < w.end()) m.fstype = *(dash + 1);
    if (dash + 2 < w.end()) m.source = *(dash + 2);
    v.push_back(m);
  }
  return v;
}

std::vector<std::string> host_mounts() {
  std::vector<std::string> v;
  for (const auto& m : parse_mountinfo(read_file("/proc/self/mountinfo")))
    v.push_back(m.mountpoint + " " + m.fstype + " " + m.source);
  std::sort(v.begin(), v.end());
  return v;
}

namespace {
std::vector<std::pair<pid_t, std::vector<std::string>>> all_cmdlines() {
  std::vector<std::pair<pid_t, std::vector<std::string>>> v;
  DIR* d = ::opendir("/proc");
  if (!d) return v;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    // A process may exit while it is read: read_file() then returns what it got (or "").
    std::string data = read_file(std::string("/proc/") + e->d_name + "/cmdline");
    std::vector<std::string> argv;
    size_t start = 0;
    while (start < data.size()) {
      size_t z = data.find('\0', start);
      if (z == std::string::npos) z = data.size();
      argv.push_back(data.substr(start, z - start));
      start = z + 1;
    }
    v.push_back({static_cast<pid_t>(pid), argv});
  }
  ::closedir(d);
  return v;
}
}  // namespace

std::vector<pid_t> pids_with_token(const std::string& token) {
  std::vector<pid_t> v;
  for (const auto& [pid, argv] : all_cmdlines()) {
    if (pid == ::getpid()) continue;
    for (const auto& a : argv)
      if (a.find(token) != std::string::npos) {
        v.push_back(pid);
        break;
      }
  }
  return v;
}

std::vector<pid_t> pids_running(const std::string& prog, const std::string& arg1) {
  std::vector<pid_t> v;
  for (const auto& [pid, argv] : all_cmdlines()) {
    if (argv.size() < 2) continue;
    if (fs::path(argv[0]).filename() == prog && argv[1] == arg1) v.push_back(pid);
  }
  return v;
}

void kill_with_token(const std::string& token) {
  for (int i = 0; i < 3; ++i) {
    auto pids = pids_with_token(token);
    if (pids.empty()) return;
    for (pid_t p : pids) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(50ms);
  }
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(20ms);
  }
}

std::string unique_suffix() {
  return std::to_string(::getpid()) + "x" + std::to_string(g_counter.fetch_add(1));
}

std::string sleep_token() {
  return "1000." + std::to_string(::getpid()) + "0" + std::to_string(g_counter.fetch_add(1));
}

std::string host_ns(const std::string& name) {
  std::error_code ec;
  auto t = fs::read_symlink("/proc/self/ns/" + name, ec);
  return ec ? std::string() : t.string();
}

std::optional<std::string> status_field(const std::string& status, const std::string& name) {
  for (const auto& l : lines(status)) {
    if (l.rfind(name + ":", 0) == 0) return trim(l.substr(name.size() + 1));
  }
  return std::nullopt;
}

std::optional<uint64_t> status_caps(const std::string& status, const std::string& name) {
  auto v = status_field(status, name);
  if (!v || v->empty()) return std::nullopt;
  return std::stoull(*v, nullptr, 16);
}

// ---- Files ---------------------------------------------------------------------------------

std::string read_file(const std::string& path) {
  // POSIX reads: std::ifstream throws from underflow() on read errors such as ESRCH from
  // /proc/PID files of a process that just exited.
  std::string data;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

void write_file(const std::string& path, const std::string& content, unsigned mode) {
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) fatal("cannot write " + path);
    f << content;
  }
  ::chmod(path.c_str(), mode);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) v.push_back(l);
  return v;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string w;
  while (in >> w) v.push_back(w);
  return v;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::set<std::string> line_set(const std::string& s) {
  std::set<std::string> r;
  for (const auto& l : lines(s))
    if (!trim(l).empty()) r.insert(trim(l));
  return r;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::set<std::string> net_interfaces(const std::string& net_dev) {
  std::set<std::string> s;
  for (const auto& l : lines(net_dev)) {
    auto colon = l.find(':');
    if (colon == std::string::npos || l.find('|') != std::string::npos) continue;
    s.insert(trim(l.substr(0, colon)));
  }
  return s;
}

std::map<std::string, std::string> key_values(const std::string& out) {
  std::map<std::string, std::string> m;
  for (const auto& l : lines(out)) {
    auto eq = l.find('=');
    if (eq != std::string::npos) m[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return m;
}

TempDir::TempDir(unsigned mode) {
  char tmpl[] = "/tmp/sandbox-it-data-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) fatal("mkdtemp: " + errstr());
  path_ = tmpl;
  if (::chmod(path_.c_str(), mode) != 0) fatal("chmod: " + errstr());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<std::string> TempDir::entries() const {
  std::vector<std::string> v;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path_, ec)) v.push_back(e.path().filename());
  std::sort(v.begin(), v.end());
  return v;
}

// ---- Fixtures --------------------------------------------------------------------------------

void SandboxTest::SetUp() { mounts_before_ = host_mounts(); }

void SandboxTest::TearDown() {
  if (mounts_before_) {
    EXPECT_EQ(host_mounts(), *mounts_before_) << "the host's mount table changed during the test";
  }
}

std::optional<CgroupPlace> caller_cgroup(const std::string& controller) {
  std::string mountpoint, root;
  bool v2 = false;
  for (const auto& l : lines(read_file("/proc/self/mountinfo"))) {
    auto w = words(l);
    auto sep = std::find(w.begin(), w.end(), "-");
    if (sep == w.end() || w.end() - sep < 4) continue;
    std::string fstype = *(sep + 1), super = "," + *(sep + 3) + ",";
    if (fstype == "cgroup" && contains(super, "," + controller + ",")) {
      mountpoint = w[4], root = w[3];
      break;
    }
    if (fstype == "cgroup2" && mountpoint.empty()) {
      std::string ctrls = read_file(w[4] + "/cgroup.controllers");
      if (line_set(ctrls).empty() ? false : contains(" " + trim(ctrls) + " ", " " + controller + " ")) {
        mountpoint = w[4], root = w[3];
        v2 = true;
      }
    }
  }
  if (mountpoint.empty()) return std::nullopt;
  for (const auto& l : lines(read_file("/proc/self/cgroup"))) {
    auto a = l.find(':'), b = l.find(':', a + 1);
    std::string ctrls = "," + l.substr(a + 1, b - a - 1) + ",";
    bool match = v2 ? l.substr(0, b + 1) == "0::" : contains(ctrls, "," + controller + ",");
    if (!match) continue;
    std::string path = l.substr(b + 1);
    if (root != "/" && path.rfind(root, 0) == 0) path = path.substr(root.size());
    return CgroupPlace{mountpoint, path == "/" ? mountpoint : mountpoint + path};
  }
  return std::nullopt;
}

std::optional<std::string> caller_cgroup_dir(const std::string& controller) {
  auto p = caller_cgroup(controller);
  return p ? std::optional(p->dir) : std::nullopt;
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

void ModeTest::SetUp() {
  if (as_root() && !is_root())
    GTEST_SKIP() << "the root variant needs the tests to run as root (uid 0)";
  SandboxTest::SetUp();
}

RunOpts ModeTest::opts() const {
  RunOpts o;
  o.unprivileged = !as_root();
  return o;
}

std::string mode_name(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "Root" : "Unprivileged";
}

RunOpts unpriv() {
  RunOpts o;
  o.unprivileged = true;
  return o;
}

// ---- User-mode networking ----------------------------------------------------------------

bool host_tun_usable_by_others() {
  struct stat st;
  return ::stat("/dev/net/tun", &st) == 0 && (st.st_mode & 0006) == 0006;
}

// A RunOpts::in_child hook (run as root in the forked caller) giving the caller a private
// mount namespace with a tmpfs on `dir` and, bound from there: a 0666 /dev/net/tun when
// `tun` (see the top of the file), an /etc/resolv.conf with `resolv` when it is not empty.
std::function<bool()> private_mounts(const std::string& dir, bool tun, const std::string& resolv) {
  return [dir, tun, resolv] {
    if (::unshare(CLONE_NEWNS) != 0) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return false;
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "mode=0755,size=64k") != 0) return false;
    if (tun) {
      std::string node = dir + "/tun";
      if (::mknod(node.c_str(), S_IFCHR | 0666, ::makedev(10, 200)) != 0) return false;
      if (::chmod(node.c_str(), 0666) != 0) return false;  // the umask applied to mknod
      if (::mount(node.c_str(), "/dev/net/tun", nullptr, MS_BIND, nullptr) != 0) return false;
    }
    if (!resolv.empty()) {
      std::string file = dir + "/resolv.conf";
      write_file(file, resolv);
      if (::mount(file.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0) return false;
    }
    return true;
  };
}

std::function<bool()> bind_files_over(std::vector<std::pair<std::string, std::string>> binds) {
  return [binds] {
    if (::unshare(CLONE_NEWNS) != 0) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
    for (const auto& [file, target] : binds)
      if (::mount(file.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
    return true;
  };
}

UnprivName unpriv_user_name(const std::string& dir) {
  UnprivName n{"sandbox-it", {}};
  if (const passwd* pw = ::getpwuid(unpriv_uid())) {
    n.name = pw->pw_name;
    return n;
  }
  const std::string file = dir + "/passwd";
  write_file(file, read_file("/etc/passwd") + n.name + ":x:" + std::to_string(unpriv_uid()) + ":" +
                       std::to_string(unpriv_gid()) + "::/nonexistent:/bin/false\n");
  n.binds.emplace_back(file, "/etc/passwd");
  return n;
}

// The hook that gives an unprivileged caller a usable /dev/net/tun when the host's is not
// (empty when nothing is needed or the tests are not root).
std::function<bool()> private_tun_for_unprivileged(const std::string& dir) {
  if (host_tun_usable_by_others() || !is_root()) return {};
  return private_mounts(dir, true, "");
}

bool io_write(int fd, const std::string& data) {
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string read_until(int fd, const std::function<bool(const std::string&)>& done) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  char buf[4096];
  while (!done(out) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EIO: the last slave descriptor is closed
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string marked(const std::string& out, const std::string& key) {
  for (auto line : lines(out)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

}  // namespace it
