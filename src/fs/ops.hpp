// What each filesystem option means in the new root: which mount primitive it takes, with
// which flags and options, and what it creates. The primitives themselves are the
// backend's (fs/backend.hpp); the order and the pivot are fs/newroot's.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fs/backend.hpp"
#include "fs/roots.hpp"
#include "spec/spec.hpp"

namespace sb::fs {

// What of the Spec, besides the op itself, the ops need.
struct OpEnv {
  std::optional<std::string> file_label;  // SELinux context for new tmpfs mounts
  bool own_pidns = false;                 // a PID namespace of the sandbox's own
  bool cover_proc_always = false;         // --userns2: the command's namespace may map root
  std::string tty;                        // the caller's terminal, for /dev/console
};

class OpApplier {
 public:
  OpApplier(Roots& roots, const MountBackend& backend, OpEnv env)
      : roots_(roots), mnt_(backend), env_(std::move(env)) {}

  // Applies one op to the new root (which the caller has just re-opened).
  void apply(const FsOp& op);

 private:
  Roots& roots_;
  const MountBackend& mnt_;
  OpEnv env_;
  int data_files_ = 0;  // staging files for --bind-data and --tmp-overlay

  void op(const BindOp& o);
  void bind_fd(const BindOp& o);
  void op(const RemountRoOp& o);
  void op(const CoverOp& o);
  void op(const TmpfsOp& o);
  void op(const ProcOp& o);
  void cover_proc_knobs(const std::string& dest);
  void op(const DevOp& o);
  void dev_nodes(int dev, const std::string& dest);
  void op(const MqueueOp& o);
  void op(const DirOp& o);
  void op(const SymlinkOp& o);
  void op(const DataOp& o);
  void op(const OverlayOp& o);
  void op(const ChmodOp& o);
  std::string resolv_conf_target(const std::string& dest);
};

// ---- pure rules (unit-tested) ----
// The mode an op asks for, as bwrap counts it for missing parents: --dir/--tmpfs their
// --perms (0755), --file 0666, --bind-data/--ro-bind-data 0600, every other op 0.
unsigned op_perms(const FsOp& op);
// Missing parents, as bwrap makes them: 0755 less the group bits when `perms` has none,
// less the other bits likewise.
mode_t parent_mode_for(unsigned perms);
// MOUNT_ATTR_* of a bind: never setuid, devices only for --dev-bind, read-only for
// --ro-bind. A --bind-fd/--ro-bind-fd (`by_fd`) never exposes devices. `noexec`: an OCI
// mount's option of that name.
uint64_t bind_attrs(BindOp::Mode mode, bool by_fd, bool noexec = false);
// Options of a --tmpfs (or --dev's tmpfs with perms 0755 and no size).
FsOptions tmpfs_options(unsigned perms, std::optional<uint64_t> size,
                        const std::optional<std::string>& label);
// overlayfs options from layer names in bwrap order (the first --overlay-src is the
// bottom layer; lowerdir lists the top first). `upper`/`work` empty for a read-only one.
FsOptions overlay_options(OverlayOp::Kind kind, const std::vector<std::string>& lowers,
                          const std::string& upper, const std::string& work);
// "0755".
std::string mode_str(unsigned mode);

}  // namespace sb::fs
