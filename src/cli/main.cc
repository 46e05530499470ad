// The loge binary: `loge` and `loge serve` run the server.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/check.h"
#include "cli/search.h"
#include "cli/serve.h"
#include "core/version.h"

#ifdef LOGE_WITH_JEMALLOC
// jemalloc's options, read at its start (docs/memory.md). A background
// thread returns freed pages to the kernel (after jemalloc's default 10 s of
// disuse), so neither a push nor a merge pays for purging on its own thread.
// MALLOC_CONF in the environment still overrides these.
extern "C" {
__attribute__((used)) const char* malloc_conf = "background_thread:true";
}
#endif

int main(int argc, char** argv) {
#ifndef LOGE_WITH_JEMALLOC
  // glibc gives every thread that allocates its own arena (up to 8 per core)
  // and keeps what each one freed; with dozens of handler threads that is
  // hundreds of MiB of idle heap. Four arenas keep contention low on the
  // machines loge targets.
  mallopt(M_ARENA_MAX, 4);
#endif
  CLI::App app{"loge: a log store that keeps logs in compressed SQLite files.\n"
               "`loge` and `loge serve` run the server; `loge search` queries one; `loge check` verifies a data directory."};
  app.set_version_flag("--version", "loge " + std::string(loge::kVersion));
  loge::cli::ServeFlags serve;
  loge::cli::AddServeFlags(&app, &serve);
  CLI::App* serve_cmd = app.add_subcommand("serve", "run the server (the default command)");
  // `loge serve --port 1` hands --port to the root command, where the flags live.
  serve_cmd->fallthrough();
  loge::cli::SearchFlags search;
  CLI::App* search_cmd = loge::cli::AddSearchCommand(&app, &search);
  loge::cli::CheckFlags check;
  CLI::App* check_cmd = loge::cli::AddCheckCommand(&app, &check);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    // The serve flags live on the root command: `loge serve --help` shows them.
    if (serve_cmd->parsed()) {
      std::cout << app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
      return 0;
    }
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (search_cmd->parsed()) return loge::cli::RunSearch(search);
  if (check_cmd->parsed()) return loge::cli::RunCheck(check);
  return loge::cli::RunServe(serve);
}
