#include "cli/check.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "store/check.h"

namespace loge::cli {

CLI::App* AddCheckCommand(CLI::App* app, CheckFlags* f) {
  CLI::App* cmd = app->add_subcommand(
      "check",
      "verify a data directory (frames and checksums, SQLite integrity, catalog against files, WAL records); "
      "exit 0 clean, 1 on damage. Refuses a directory a running loge holds.");
  cmd->add_option("--output-path", f->output_path, "the data directory to verify")->capture_default_str();
  cmd->add_flag("--quiet", f->quiet, "print only damage and the summary");
  return cmd;
}

int RunCheck(const CheckFlags& f) {
  auto report = store::CheckDirectory(f.output_path, [&](const std::string& line) {
    if (!f.quiet || line.rfind("DAMAGED", 0) == 0) std::cout << line << "\n";
  });
  if (!report.ok()) {
    std::cerr << "loge check: " << report.status().message() << "\n";
    return 1;
  }
  const store::CheckReport& r = *report;
  std::cout << "checked " << r.data_files << " data files (" << r.damaged_files << " damaged), " << r.catalog_rows
            << " catalog rows (" << r.missing_files << " without their file, " << r.uncataloged
            << " files not cataloged), " << r.wal_records << " WAL records in " << r.wal_files << " files ("
            << r.wal_damaged_bytes << " damaged bytes, " << r.wal_torn_bytes << " torn-tail bytes)\n";
  if (r.clean()) {
    std::cout << "clean\n";
    return 0;
  }
  std::cout << r.problems.size() << " problem(s) found; the next `loge serve` quarantines damaged files and "
            << "rebuilds an unreadable catalog (docs/reliability.md)\n";
  return 1;
}

}  // namespace loge::cli
