#include "launch/exec_diag.hpp"

#include <elf.h>
#include <endian.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fs/mountapi.hpp"
#include "fs/resolve.hpp"
#include "util/fd.hpp"

namespace sb::launch {
namespace {

bool pread_all(int fd, void* buf, size_t n, off_t off) {
  return ::pread(fd, buf, n, off) == static_cast<ssize_t>(n);
}

template <typename Ehdr, typename Phdr>
ElfInterp read_interp(int fd) {
  ElfInterp r;
  Ehdr eh;
  if (!pread_all(fd, &eh, sizeof eh, 0)) return r;
  r.is_elf = true;
  if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum > 4096) return r;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Phdr ph;
    if (!pread_all(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * sizeof ph))) return r;
    if (ph.p_type != PT_INTERP) continue;
    if (ph.p_filesz == 0 || ph.p_filesz > PATH_MAX) return r;
    std::string s(ph.p_filesz, '\0');
    if (!pread_all(fd, s.data(), s.size(), static_cast<off_t>(ph.p_offset))) return r;
    s.resize(std::strlen(s.c_str()));  // NUL-terminated in the file
    if (!s.empty()) r.interp = s;
    return r;
  }
  return r;
}

// Relative form of an absolute path, for *at() calls on a root fd.
std::string rel(const std::string& p) {
  size_t i = p.find_first_not_of('/');
  return i == std::string::npos ? "." : p.substr(i);
}

// A directory tree seen from outside it: its root, and the directory relative paths start
// from (-1: relative paths name nothing in it).
struct Tree {
  int root;
  int cwd;
};

// Opens `path` in `t` as if its root were "/" (openat2 RESOLVE_IN_ROOT): the supervisor,
// outside the sandbox, must see the sandbox's absolute symlinks as the command would, and
// never follow one out of the tree. Kernels before 5.6: fs's user-space walk, which never
// leaves the directory it starts from (a relative path's ".." stops at the cwd there).
int open_in(const Tree& t, const std::string& path, int flags) {
  const bool abs = !path.empty() && path[0] == '/';
  const int dir = abs ? t.root : t.cwd;
  if (dir == -1 || path.empty()) {
    errno = ENOENT;
    return -1;
  }
  const std::string p = abs ? rel(path) : path;
  if (fs::have_openat2())
    return fs::sys_openat2(dir, p.c_str(), static_cast<uint64_t>(flags) | O_CLOEXEC, 0,
                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  // Security: never a plain openat, which would follow the sandbox's symlinks into the host.
  return fs::Resolver(false).open(dir, p, flags | O_CLOEXEC);
}

bool in_root(const Tree& t, const std::string& path, struct stat* st, bool follow) {
  UniqueFd fd(open_in(t, path, O_PATH | (follow ? 0 : O_NOFOLLOW)));
  return fd && ::fstat(fd.get(), st) == 0;
}

bool exists_in(const Tree& t, const std::string& path) {
  struct stat st;
  return in_root(t, path, &st, true);
}

std::string readlink_in(const Tree& t, const std::string& path) {
  UniqueFd fd(open_in(t, path, O_PATH | O_NOFOLLOW));
  char buf[PATH_MAX];
  ssize_t n = fd ? ::readlinkat(fd.get(), "", buf, sizeof buf - 1) : -1;
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// What the sandbox lacks on the way to `path` (known to be missing inside) and which
// option would provide it, judging from the host.
std::string explain_missing(const std::string& path, const Tree& sroot, const Tree& hroot) {
  std::string prefix;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos + 1);
    if (next == std::string::npos) next = path.size();
    prefix = path.substr(0, next);
    pos = next;
    struct stat st;
    if (!in_root(sroot, prefix, &st, false)) break;  // the first missing component
    if (S_ISLNK(st.st_mode) && !in_root(sroot, prefix, &st, true))
      return prefix + " is a symlink to " + readlink_in(sroot, prefix) +
             ", which does not exist in the sandbox";
  }
  std::string s = prefix + " does not exist in the sandbox";
  struct stat hst;
  if (hroot.root < 0) return s;
  if (!in_root(hroot, prefix, &hst, false)) return s + " (nor on the host)";
  if (S_ISLNK(hst.st_mode)) {
    std::string target = readlink_in(hroot, prefix);
    return s + "; on the host " + prefix + " is a symlink to " + target + ": add --symlink " +
           target + " " + prefix;
  }
  return s + "; the host has " + prefix + ": add --ro-bind " + prefix + " " + prefix;
}

struct FileHead {
  ElfInterp elf;
  std::optional<Shebang> shebang;
};

FileHead read_head(const Tree& root, const std::string& path) {
  FileHead h;
  // O_NONBLOCK: a FIFO in the sandbox must not hang the supervisor.
  UniqueFd fd(open_in(root, path, O_RDONLY | O_NONBLOCK));
  if (!fd) return h;
  h.elf = read_elf_interp(fd.get());
  if (!h.elf.is_elf) {
    char buf[256];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf, 0);
    if (n > 0) h.shebang = parse_shebang(std::string_view(buf, static_cast<size_t>(n)));
  }
  return h;
}

// `file` exists inside but execve said ENOENT: an interpreter is missing.
std::string explain_interp(const std::string& file, const Tree& sroot, const Tree& hroot,
                           int depth = 0) {
  FileHead h = read_head(sroot, file);
  if (h.elf.interp && !exists_in(sroot, *h.elf.interp))
    return file + " needs its ELF interpreter " + *h.elf.interp + ", which is missing: " +
           explain_missing(*h.elf.interp, sroot, hroot);
  if (h.shebang) {
    const std::string& in = h.shebang->interp;
    if (!exists_in(sroot, in))
      return file + " is a script for " + in + " (#!), which is missing: " +
             explain_missing(in, sroot, hroot);
    if (depth == 0) {
      std::string inner = explain_interp(in, sroot, hroot, 1);
      if (!inner.empty()) return file + " is a script for " + in + "; " + inner;
    }
  }
  return "";
}

std::vector<std::string> split_path(const std::string& path_env) {
  std::vector<std::string> dirs;
  size_t start = 0;
  for (;;) {
    size_t colon = path_env.find(':', start);
    std::string d = path_env.substr(start, colon == std::string::npos ? colon : colon - start);
    dirs.push_back(d.empty() ? "." : d);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return dirs;
}

}  // namespace

ElfInterp read_elf_interp(int fd) {
  unsigned char ident[EI_NIDENT];
  if (!pread_all(fd, ident, sizeof ident, 0) || std::memcmp(ident, ELFMAG, SELFMAG) != 0)
    return {};
  // Only this machine's byte order: a foreign binary fails with ENOEXEC, not ENOENT.
  unsigned char native = __BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB;
  if (ident[EI_DATA] != native) return {true, std::nullopt};
  if (ident[EI_CLASS] == ELFCLASS64) return read_interp<Elf64_Ehdr, Elf64_Phdr>(fd);
  if (ident[EI_CLASS] == ELFCLASS32) return read_interp<Elf32_Ehdr, Elf32_Phdr>(fd);
  return {true, std::nullopt};
}

std::optional<Shebang> parse_shebang(std::string_view head) {
  if (head.substr(0, 2) != "#!") return std::nullopt;
  std::string_view line = head.substr(2);
  line = line.substr(0, line.find('\n'));
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  size_t i = 0;
  while (i < line.size() && blank(line[i])) ++i;
  size_t end = i;
  while (end < line.size() && !blank(line[end])) ++end;
  if (end == i) return std::nullopt;
  Shebang s{std::string(line.substr(i, end - i)), {}};
  std::string_view rest = line.substr(end);
  size_t a = 0, b = rest.size();
  while (a < b && blank(rest[a])) ++a;
  while (b > a && (blank(rest[b - 1]) || rest[b - 1] == '\r')) --b;
  s.arg = std::string(rest.substr(a, b - a));
  return s;
}

namespace {

// EACCES for `file`, which exists: a directory, no execute bit, or a noexec mount.
std::string explain_access(const std::string& file, const Tree& sroot) {
  struct stat st;
  if (!in_root(sroot, file, &st, true)) return "";
  if (S_ISDIR(st.st_mode)) return file + " is a directory";
  if (!S_ISREG(st.st_mode)) return file + " is not a regular file";
  if ((st.st_mode & 0111) == 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return file + " has no execute permission (mode " + mode + ")";
  }
  struct statvfs vfs;
  UniqueFd fd(open_in(sroot, file, O_PATH));
  if (fd && ::fstatvfs(fd.get(), &vfs) == 0 && (vfs.f_flag & ST_NOEXEC))
    return file + " is on a filesystem mounted noexec";
  return "";
}

}  // namespace

std::string explain_exec_failure(int err, const std::string& cmd, const std::string& path_env,
                                 int sandbox_root, int host_root, int sandbox_cwd) {
  const Tree sroot{sandbox_root, sandbox_cwd}, hroot{host_root, -1};
  if (err == EACCES) {
    if (cmd.find('/') != std::string::npos) return explain_access(cmd, sroot);
    for (const auto& d : split_path(path_env)) {
      std::string why = explain_access(d + "/" + cmd, sroot);
      if (!why.empty()) return why;
    }
    return "";
  }
  if (err != ENOENT && err != ENOTDIR) return "";
  std::vector<std::string> candidates;
  bool searched = cmd.find('/') == std::string::npos;
  if (searched)
    for (const auto& d : split_path(path_env)) candidates.push_back(d + "/" + cmd);
  else
    candidates.push_back(cmd);

  for (const auto& c : candidates) {
    if (!exists_in(sroot, c)) continue;
    return explain_interp(c, sroot, hroot);
  }
  if (!searched) return explain_missing(cmd, sroot, hroot);

  std::string s = cmd + " is not in any directory of the sandbox's PATH (" + path_env + ")";
  if (hroot.root < 0) return s;
  for (const auto& c : candidates) {
    if (c[0] != '/' || !exists_in(hroot, c)) continue;
    return s + "; the host has " + c + ": " + explain_missing(c, sroot, hroot);
  }
  return s + ", nor in those of the host";
}

std::optional<ExecReport> parse_exec_report(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '\0') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  if (parts.size() != 4) return std::nullopt;
  return ExecReport{std::atoi(parts[0].c_str()), parts[1], parts[2], parts[3]};
}

std::string exec_failure_message(const std::string& text, const std::vector<UniqueFd>& fds) {
  auto r = parse_exec_report(text);
  if (!r) return "Can't execute the command (malformed report from the sandbox)";
  // Without a handle on the sandbox's mount namespace its mounts may be gone: the child's
  // own explanation (without the host's side) is the best there is.
  if (fds.size() != 3) return r->message;
  std::string msg = "Can't execute " + r->command + ": " + std::strerror(r->err);
  UniqueFd host_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string why = explain_exec_failure(r->err, r->command, r->path_env, fds[0].get(),
                                         host_root.get(), fds[1].get());
  return why.empty() ? msg : msg + " (" + why + ")";
}

}  // namespace sb::launch
