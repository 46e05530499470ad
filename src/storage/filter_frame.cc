#include "storage/filter_frame.h"

#include <memory>

#include "core/crc32c.h"
#include "core/types.h"
#include "io/file_system.h"
#include "storage/seekable_zstd.h"

namespace loge::storage {

namespace {

constexpr size_t kCrcBytes = 4;
constexpr uint64_t kSkippableHeaderBytes = 8;  // magic + size

// Reads the frame's payload onto the heap and checks it: the blob, after
// the crc. Null when the file has no filter frame.
Result<std::shared_ptr<std::string>> ReadChecked(const SeekableReader& r, SeekableReader::Skippable* where) {
  auto found = r.FindSkippable(kFilterFrameMagic);
  if (!found.ok() && found.status().code() == Code::kNotFound) return std::shared_ptr<std::string>();
  LOGE_RETURN_IF_ERROR(found.status());
  *where = *found;
  if (where->size < kCrcBytes) return Status::Corruption("filter frame: too short");
  auto payload = std::make_shared<std::string>(where->size, '\0');
  LOGE_RETURN_IF_ERROR(r.ReadRaw(where->offset, payload->size(), payload->data()));
  const uint32_t want = LoadLE32(payload->data());
  const uint32_t got = crc32c::Value(payload->data() + kCrcBytes, payload->size() - kCrcBytes);
  if (want != got) return Status::Corruption("filter frame: checksum mismatch");
  return payload;
}

// The filters of `blob`, whose payload (crc + blob) lies at file offset
// payload_at of path: pointing into the payload mapped when fs can map it,
// else into `heap` (which holds `blob`).
Result<FileFiltersPtr> MapOrKeep(io::FileSystem* fs, const std::string& path, uint64_t payload_at,
                                 std::string_view blob, std::shared_ptr<const void> heap) {
  // Mapping is how the filters stay off the heap, not how they are read: a
  // file system that cannot map, or a map that fails (mmap's ENOMEM,
  // vm.max_map_count), keeps the heap copy.
  auto mapped = fs->MapReadOnly(path, payload_at, kCrcBytes + blob.size());
  Result<FileFilters> f = mapped.ok() ? FileFilters::FromBlob(blob, *mapped, (*mapped)->bytes().data() + kCrcBytes)
                                      : FileFilters::FromBlob(blob, std::move(heap));
  if (!f.ok()) return f.status().WithContext(path);
  if (mapped.ok()) f->region = *mapped;
  return FileFiltersPtr(std::make_shared<const FileFilters>(std::move(*f)));
}

}  // namespace

Status AddFilterFrame(SeekableWriter* w, std::string_view blob) {
  std::string payload;
  payload.reserve(kCrcBytes + blob.size());
  AppendLE32(&payload, crc32c::Value(blob.data(), blob.size()));
  payload += blob;
  return w->AddSkippableFrame(kFilterFrameMagic, payload);
}

Result<FileFiltersPtr> MapWrittenFilterFrame(io::FileSystem* fs, const std::string& path, uint64_t frame_at,
                                             std::shared_ptr<const std::string> blob) {
  const std::string_view view(*blob);
  return MapOrKeep(fs, path, frame_at + kSkippableHeaderBytes, view, std::move(blob));
}

Result<FileFiltersPtr> ReadFilterFrame(const SeekableReader& r) {
  SeekableReader::Skippable where;
  LOGE_ASSIGN_OR_RETURN(std::shared_ptr<std::string> payload, ReadChecked(r, &where));
  if (payload == nullptr) return FileFiltersPtr();
  const std::string_view blob = std::string_view(*payload).substr(kCrcBytes);
  LOGE_ASSIGN_OR_RETURN(FileFilters f, FileFilters::FromBlob(blob, std::move(payload)));
  return FileFiltersPtr(std::make_shared<const FileFilters>(std::move(f)));
}

Result<FileFiltersPtr> LoadFilterFrame(io::FileSystem* fs, const std::string& path) {
  LOGE_ASSIGN_OR_RETURN(auto file, fs->OpenRandomAccess(path));
  LOGE_ASSIGN_OR_RETURN(auto reader, SeekableReader::Open(std::move(file)));
  SeekableReader::Skippable where;
  auto payload = ReadChecked(*reader, &where);
  if (!payload.ok()) return payload.status().WithContext(path);
  if (*payload == nullptr) return FileFiltersPtr();
  const std::string_view blob = std::string_view(**payload).substr(kCrcBytes);
  return MapOrKeep(fs, path, where.offset, blob, std::move(*payload));
}

}  // namespace loge::storage
