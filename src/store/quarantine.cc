// Damaged files: moved aside into quarantine/ under the output path, never
// deleted (a human may want the bytes), never read again.
#include <spdlog/spdlog.h>

#include "io/file_system.h"
#include "store/filename.h"
#include "store/store_impl.h"

namespace loge::store {

namespace {

// Copies of one name kept in quarantine/ before the oldest is overwritten:
// the same file name can only come back after a catalog rebuild.
constexpr int kMaxQuarantinedCopies = 100;

}  // namespace

Result<std::string> Store::Impl::MoveToQuarantine(const std::string& name, const Status& why) {
  const std::string dir = io::JoinPath(opts.output_path, kQuarantineDirName);
  LOGE_RETURN_IF_ERROR(fs->CreateDirs(dir));
  std::string target = io::JoinPath(dir, QuarantineName(name, 0));
  for (int taken = 1; fs->Exists(target) && taken < kMaxQuarantinedCopies; taken++) {
    target = io::JoinPath(dir, QuarantineName(name, taken));
  }
  const std::string from = io::JoinPath(opts.output_path, name);
  LOGE_RETURN_IF_ERROR(fs->Rename(from, target));
  LOGE_RETURN_IF_ERROR(fs->SyncDir(dir));
  LOGE_RETURN_IF_ERROR(fs->SyncDir(opts.output_path));
  files_quarantined++;
  spdlog::error("damaged file {} moved to {} ({}); queries answer from the other files, marked partial",
                from, target, why.ToString());
  return target;
}

// Takes a published file out of service, in crash-safe order:
//  1. out of the FileSet: queries and merges stop seeing it;
//  2. renamed into quarantine/ (both directories fsynced);
//  3. its catalog row removed.
// A crash after 1 leaves it cataloged and in place: the next read finds it
// damaged again. A crash after 2 leaves a catalog row without its file:
// recovery drops the row, and a flush file's rows still in the WAL are then
// replayed (its WAL parts are no longer known as stored).
void Store::Impl::QuarantinePublished(int64_t id, const std::string& name, const Status& why) {
  storage::FilePtr f = files.Take(id);
  if (!f) return;  // another reader or a merge got here first
  if (auto moved = MoveToQuarantine(name, why); !moved.ok()) {
    quarantine_failures++;
    spdlog::error("damaged file {}: could not move it to quarantine ({}); it stays in service and is tried again "
                  "on the next read that fails", name, moved.status().ToString());
    files.Add(std::move(f));
    return;
  }
  if (Status st = catalog->Remove({id}); !st.ok()) {
    quarantine_failures++;
    spdlog::error("damaged file {}: moved aside but its catalog row stays until the next start drops it: {}", name,
                  st.ToString());
  }
}

void Store::ReportDamaged(int64_t id, const std::string& name, const Status& why) {
  impl_->QuarantinePublished(id, name, why);
}

}  // namespace loge::store
