// /proc/PID/mountinfo, parsed once for everyone (the cgroup discovery, the legacy
// recursive remount, the cgroupfs seal). Pure: the callers read the file.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::mountinfo {

// One line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
// (proc(5)). Path-like fields are unescaped; the option lists are kept as the kernel
// wrote them.
struct Entry {
  int mount_id = 0;
  int parent_id = 0;
  std::string root;           // field 4: the mount's root within its filesystem
  std::string mountpoint;     // field 5, relative to the reader's root
  std::string mount_options;  // field 6: per-mount options ("rw,nosuid")
  std::string fstype;         // after the "-" separator
  std::string source;         // "/dev/sda1", "none"
  std::string super_options;  // per-superblock options ("rw,nsdelegate")
};

// Decodes the kernel's escapes: show_mountinfo writes a space, tab, newline or backslash
// in a path as a backslash and exactly three octal digits ("\040"). Anything else, a
// backslash not followed by three octal digits of a byte value included, stays as it is.
std::string unescape(std::string_view field);

// One line, or nullopt when it does not have mountinfo's shape.
std::optional<Entry> parse_line(std::string_view line);

// Every well-formed line of `text`, in order; malformed lines are skipped.
std::vector<Entry> parse(std::string_view text);

}  // namespace sb::mountinfo
