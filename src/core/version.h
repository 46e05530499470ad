// loge's version, as `loge --version` and Loki's /status/buildinfo report it.
#pragma once

#include <string_view>

namespace loge {

inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace loge
