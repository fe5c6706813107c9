// The parent<->child handshake: a SOCK_SEQPACKET socketpair (one message per send, fds via
// SCM_RIGHTS). The child reports "setup failed: <message>" or hands over descriptors; the
// parent sees EOF once the command has been executed (the child's end is O_CLOEXEC).
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/fd.hpp"

namespace sb::launch {

// Error: setup failed, text says why. LockFds: descriptors for the supervisor to hold.
// NetNs (--net pasta/slirp4netns, the child's first message): fds its network and user
// namespaces, which the supervisor hands to the network helper.
// EarlyInfo: the namespaces exist (--userns-block-fd: the caller may write maps now).
// Ready: setup is done and the command is about to run.
// NetReady (parent to child): the network helper or veth is configured (--net).
// Go (parent to child): the child is in its cgroups and its hard limits are raised.
// ExecFailed: execve failed; text "ERRNO\0COMMAND\0PATH\0MESSAGE" (MESSAGE: the child's
// explanation without the host), fds the sandbox's root, working directory and mount
// namespace, for the supervisor to explain what is missing compared with the host.
// AuditListener (--audit-fd): fd the seccomp listener of the command's audited filter.
// EgressLog (--audit-fd with --allow-net): fd the NFLOG socket of rejected connections.
// MapsWanted: the child waits for the id maps written from outside (Plan::maps_from_outside).
// MapsWritten (parent to child): they are written.
// BeforePivot (Spec::setup_hooks): every mount is made, the pivot is next; fds the child's
// user and mount namespaces. PivotGo (parent to child): before_pivot returned; text what it
// returned, for before_exec.
enum class MsgType : char {
  Error = 'E', LockFds = 'L', EarlyInfo = 'I', Ready = 'R', NetReady = 'N', Go = 'G',
  ExecFailed = 'X', NetNs = 'S', AuditListener = 'A',
  EgressLog = 'F', MapsWanted = 'M', MapsWritten = 'W', BeforePivot = 'P', PivotGo = 'p'
};

struct Message {
  MsgType type;
  std::string text;
  std::vector<UniqueFd> fds;
};

// Returns {parent end, child end}, both O_CLOEXEC.
std::pair<UniqueFd, UniqueFd> make_channel();

// False when the message could not be sent whole (the caller then says so another way:
// a failure is never silent).
bool send_message(int fd, MsgType type, const std::string& text, const std::vector<int>& fds = {});

// Blocks for one message; std::nullopt on EOF (or, with `nonblocking`, when none is queued).
// Throws when a message arrived cut short (text or descriptors lost).
std::optional<Message> recv_message(int fd, bool nonblocking = false);

}  // namespace sb::launch
