#include "cli/docgen.hpp"
