// libFuzzer target for the argument parser: sb::cli::parse (argv vectors, --args streams,
// profiles) followed by sb::validate, as `sandbox` runs them before anything is created.
//
// Input format (see tests/fuzz/README.md): argv elements separated by NUL bytes; an optional
// 0x01 byte starts the --args streams, themselves separated by 0x01. Stream N is a memfd
// placed at descriptor 100+N, so "--args\0" "100" reads stream 0 (whose content is again
// NUL-separated arguments, and may say "--args 101").
//
// parse() (with the real environment) only reads descriptors (--args), it never writes or
// closes them; every other fd number it is given is recorded, and checked with
// fcntl(F_GETFD) as planning does. So that no "--args N"
// can block, the harness closes every inherited descriptor above 2, makes fd 0 /dev/null,
// and turns numbers naming libFuzzer's own descriptors into unused ones (hide_foreign_fd);
// scripts/fuzz.sh runs the fuzzers with their output in a log file (write-only fds 1, 2).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "plan/plan.hpp"
#include "spec/spec.hpp"
#include "util/error.hpp"

namespace {

constexpr int kFirstStreamFd = 100;
constexpr size_t kMaxStreams = 8;

// Elements end at `sep` or at the end of the data (a final `sep` adds no empty element).
std::vector<std::string> split(const char* p, size_t n, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= n; ++i) {
    if (i == n || p[i] == sep) {
      if (i > start || i < n) out.emplace_back(p + start, i - start);
      start = i + 1;
    }
  }
  return out;
}

// libFuzzer and the sanitizers open descriptors of their own while fuzzing (a leak check,
// a new corpus file): a number that names one of them, other than the streams and 0-2,
// becomes a number that names nothing, so that "--args 3" cannot block reading libFuzzer's
// pipe. Every other number reaches the parser unchanged.
void hide_foreign_fd(std::string& tok, size_t streams) {
  if (tok.empty() || tok.size() > 9 || tok.find_first_not_of("0123456789") != std::string::npos)
    return;
  int fd = std::stoi(tok);
  bool ours = fd <= 2 || (fd >= kFirstStreamFd && fd < kFirstStreamFd + static_cast<int>(streams));
  if (!ours && ::fcntl(fd, F_GETFD) >= 0) tok = "999999999";
}

// A memfd holding `data` at descriptor `fd`, read position at the start.
bool place_stream(int fd, const std::string& data) {
  int m = ::memfd_create("fuzz-args", MFD_CLOEXEC);
  if (m < 0) return false;
  bool ok = ::write(m, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
            ::lseek(m, 0, SEEK_SET) == 0 && ::dup3(m, fd, O_CLOEXEC) == fd;
  ::close(m);
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Descriptors inherited from whatever started the fuzzer (a shell's job pipes, CI's
  // runner) are not ours: "--args 3" would block reading one of them. libFuzzer has opened
  // nothing yet when it calls this.
  ::close_range(3, ~0U, 0);
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0 && null != 0) {
    ::dup2(null, 0);
    ::close(null);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  const char* streams_start = static_cast<const char*>(std::memchr(p, '\x01', size));
  size_t argv_len = streams_start ? static_cast<size_t>(streams_start - p) : size;
  std::vector<std::string> args = split(p, argv_len, '\0');

  std::vector<std::string> streams;
  if (streams_start)
    streams = split(streams_start + 1, size - argv_len - 1, '\x01');
  if (streams.size() > kMaxStreams) streams.resize(kMaxStreams);
  for (auto& a : args) hide_foreign_fd(a, streams.size());
  for (auto& st : streams) {  // the arguments inside --args streams too
    std::string out;
    for (std::string tok : split(st.data(), st.size(), '\0')) {
      hide_foreign_fd(tok, streams.size());
      out += tok + '\0';
    }
    if (!st.empty() && st.back() != '\0') out.pop_back();  // keep a missing final NUL missing
    st = out;
  }
  for (size_t i = 0; i < streams.size(); ++i)
    if (!place_stream(kFirstStreamFd + static_cast<int>(i), streams[i])) __builtin_trap();

  try {
    sb::cli::SystemParseEnv env;
    sb::Spec spec = sb::cli::parse(args, env).spec;
    sb::planning::check_fds_open(spec.fds);  // what planning checks first
    sb::HostFacts host;
    host.uid = 1000;
    host.gid = 1000;
    (void)sb::validate(spec, host);
    host.uid = 0;
    host.gid = 0;
    (void)sb::validate(spec, host);
  } catch (const sb::Error&) {
    // Bad input must end here: a clear error, nothing else.
  }

  for (size_t i = 0; i < streams.size(); ++i) ::close(kFirstStreamFd + static_cast<int>(i));
  return 0;
}
