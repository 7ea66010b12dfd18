#pragma once
/// @brief Loading a named time zone ("Asia/Shanghai"): the loader head office uses too.

#include "loyalty/zones/zone_loader.hpp"

namespace loyalty::terminal {

using zones::loadZone;

}  // namespace loyalty::terminal
