// `loge check --output-path DIR`: verifies a data directory no server is
// using (store/check.h) and prints a report.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace loge::cli {

struct CheckFlags {
  std::string output_path = "tmp/";  // --output-path: the data directory to verify
  bool quiet = false;                // --quiet: print only damage and the summary
};

// Registers `check` on app; returns the subcommand.
CLI::App* AddCheckCommand(CLI::App* app, CheckFlags* f);

// Exit code: 0 clean, 1 damage found or the directory cannot be checked
// (missing, or a running server holds its LOCK).
int RunCheck(const CheckFlags& f);

}  // namespace loge::cli
