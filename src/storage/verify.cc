#include "storage/verify.h"

#include "io/file_system.h"
#include "storage/filter_frame.h"
#include "storage/seekable_zstd.h"
#include "storage/segment_reader.h"

namespace loge::storage {

Status VerifyDataFile(io::FileSystem* fs, const std::string& path, VerifyReport* out) {
  VerifyReport report;
  LOGE_ASSIGN_OR_RETURN(auto file, fs->OpenRandomAccess(path));
  auto reader = SeekableReader::Open(std::move(file));
  if (!reader.ok()) return reader.status().WithContext(path + ": seek table");
  std::string frame;
  for (size_t i = 0; i < (*reader)->FrameCount(); i++) {
    if (Status st = (*reader)->ReadFrame(i, &frame); !st.ok()) {
      uint64_t offset = 0;
      for (size_t j = 0; j < i; j++) offset += (*reader)->CompressedFrameSize(j);
      return Status::Corruption(path + ": frame " + std::to_string(i) + " (compressed bytes " +
                                std::to_string(offset) + ".." + std::to_string(offset + (*reader)->CompressedFrameSize(i)) +
                                "): " + st.message());
    }
    report.frames++;
    report.decompressed_bytes += frame.size();
  }
  // Format 3's filter frame: its checksum and its filters' structure.
  if (auto f = ReadFilterFrame(**reader); !f.ok()) return f.status().WithContext(path + ": filter frame");
  LOGE_ASSIGN_OR_RETURN(auto segment, SegmentReader::Open(path));
  LOGE_RETURN_IF_ERROR(segment->IntegrityCheck());
  if (out) *out = report;
  return Status::OK();
}

}  // namespace loge::storage
