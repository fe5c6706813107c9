// fs's reader of /proc/self/mountinfo: the mount points and filesystem types the builder
// needs (the legacy backend's recursive remount, the cgroupfs sealing). Issue 16 brings one
// shared mountinfo reader to util/; this one moves there when it lands.
#pragma once
#include <istream>
#include <string>
#include <vector>

namespace sb::fs {

struct MountPoint {
  std::string path;    // mount point, octal escapes decoded
  std::string fstype;  // after the " - " separator
};

std::vector<MountPoint> parse_mount_points(std::istream& mountinfo);

}  // namespace sb::fs
