#include "store/disk_guard.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/time.h"

namespace loge::store {

namespace {

std::string Human(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

uint64_t Threshold(const MinFreeDisk& m, uint64_t total) {
  auto percent_of = [total](double p) { return static_cast<uint64_t>(static_cast<double>(total) * p / 100.0); };
  switch (m.kind) {
    case MinFreeDisk::Kind::kBytes: return m.bytes;
    case MinFreeDisk::Kind::kPercent: return percent_of(m.percent);
    case MinFreeDisk::Kind::kDefault: break;
  }
  return std::min(kDefaultMinFreeBytes, percent_of(kDefaultMinFreePercent));
}

}  // namespace

Result<MinFreeDisk> ParseMinFreeDisk(const std::string& text) {
  MinFreeDisk m;
  if (text.empty()) return m;
  if (text.back() == '%') {
    const std::string num = text.substr(0, text.size() - 1);
    char* end = nullptr;
    errno = 0;
    const double p = std::strtod(num.c_str(), &end);
    if (num.empty() || end != num.c_str() + num.size() || errno != 0 || !std::isfinite(p) || p < 0 || p >= 100) {
      return Status::InvalidArgument("--min-free-disk: a percentage in [0, 100), e.g. 5%: " + text);
    }
    m.kind = MinFreeDisk::Kind::kPercent;
    m.percent = p;
    return m;
  }
  auto bytes = ParseByteSize(text);
  if (!bytes.ok()) return Status::InvalidArgument("--min-free-disk: " + bytes.status().message());
  m.kind = MinFreeDisk::Kind::kBytes;
  m.bytes = *bytes;
  return m;
}

Result<DiskSpace> StatDiskSpace(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return Status::IOError("statvfs " + path + ": " + std::strerror(errno));
  DiskSpace s;
  s.free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  s.total_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  return s;
}

DiskGuard::DiskGuard(DiskGuardOptions opts) : opts_(std::move(opts)) {}

void DiskGuard::Check() {
  auto space = opts_.space ? opts_.space(opts_.path) : StatDiskSpace(opts_.path);
  MutexLock l(&mu_);
  if (!space.ok()) {
    // Logged on every failure: checks run about once a second, and a file
    // system that cannot answer statvfs is worth the noise.
    state_.check_failures++;
    spdlog::error("disk guard: cannot read the free space of {} ({}); ingest stays {}", opts_.path,
                  space.status().ToString(), state_.read_only ? "read-only" : "writable");
    return;
  }
  const uint64_t min_free = Threshold(opts_.min_free, space->total_bytes);
  state_.free_bytes = space->free_bytes;
  state_.total_bytes = space->total_bytes;
  state_.min_free_bytes = min_free;
  const bool low = min_free > 0 && space->free_bytes < min_free;
  if (low) {
    state_.reason = "disk almost full: " + Human(space->free_bytes) + " free on the file system of " + opts_.path +
                    ", below --min-free-disk " + Human(min_free) +
                    "; ingest is read-only until space is freed (queries keep working)";
    if (!state_.read_only) {
      state_.read_only = true;
      state_.entered++;
      spdlog::warn("{}", state_.reason);
    }
  } else if (state_.read_only) {
    state_.read_only = false;
    state_.reason.clear();
    spdlog::info("disk guard: {} free on the file system of {} (--min-free-disk {}); ingest is writable again",
                 Human(space->free_bytes), opts_.path, Human(min_free));
  }
}

Status DiskGuard::AdmitWrite() const {
  MutexLock l(&mu_);
  if (state_.read_only) return Status::Unavailable(state_.reason);
  return Status::OK();
}

DiskGuard::State DiskGuard::state() const {
  MutexLock l(&mu_);
  return state_;
}

}  // namespace loge::store
