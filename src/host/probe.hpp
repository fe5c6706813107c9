// What this kernel and this caller can do, probed once and cheaply (a few stat/read calls)
// so that startup stays fast.
#pragma once
#include "spec/spec.hpp"

namespace sb::host {

HostFacts probe();

}  // namespace sb::host
