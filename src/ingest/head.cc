#include "ingest/head.h"

#include <set>

#include "query/engine.h"

namespace loge::ingest {

namespace {

// Adds the batch's rows that match q to *top. False when the query was
// interrupted (its deadline passed or its client left, query/cancel.h):
// the caller stops, and Scan() reports why.
bool ScanBatch(const Batch& b, const query::Query& q, query::TopK* top) {
  size_t until_check = query::kCheckEvery;
  for (const auto& [fp, s] : b.streams) {
    if (!q.MatchesLabels(s.labels)) continue;
    const int64_t kept = q.StreamFloor(s.labels);  // per-stream retention
    const query::StreamTombstones deleted = q.DeletedFor(s.labels);  // pending delete requests
    const size_t n = s.entries.size();
    for (size_t i = 0; i < n; i++) {
      if (--until_check == 0) {
        if (!q.Interrupted().ok()) return false;
        until_check = query::kCheckEvery;
      }
      // Each line is its own allocation: fetch a few ahead so a line
      // filter's scan does not wait on memory line by line.
      if (i + 8 < n) __builtin_prefetch(s.entries[i + 8].line.data());
      const auto& e = s.entries[i];
      if (!q.InWindow(e.ts) || e.ts < kept || !top->Admits(e.ts) || !q.MatchesLine(e.line)) continue;
      if (!q.MatchesEntry(s.labels, e.metadata)) continue;
      if (!deleted.empty() && deleted.Deletes(e.ts, e.line)) continue;
      top->Add(query::Hit{e.ts, e.line, s.labels_json, e.metadata});
    }
  }
  return true;
}

// Line-filter alternatives below which filtering an open batch under its
// lock costs about what copying its rows out would (a few memmem per line).
constexpr size_t kCheapNeedles = 4;

// True when the query's filters cost more per row than copying the row: a
// regex, many alternatives, or entry filters (a JSON parse per row). Then
// open batches are copied out under their lock and filtered after, so a
// costly query never holds a bucket's lock — and that bucket's pushes —
// for longer than a copy.
bool CostlyFilters(const query::Query& q) {
  size_t needles = 0;
  for (const auto& f : q.line_filters) {
    if (f.type() == query::LineFilterType::kRegex || f.type() == query::LineFilterType::kNotRegex) return true;
    needles += f.needles().size();
  }
  return needles > kCheapNeedles || !q.entry_filters.empty();
}

// Copies the rows of b's matching streams in q's window (and past their
// retention floor) into *out, unfiltered.
void CopyCandidates(const Batch& b, const query::Query& q, Batch* out) {
  for (const auto& [fp, s] : b.streams) {
    if (!q.MatchesLabels(s.labels)) continue;
    const int64_t kept = q.StreamFloor(s.labels);
    StreamBuf* dst = nullptr;
    for (const auto& e : s.entries) {
      if (!q.InWindow(e.ts) || e.ts < kept) continue;
      if (dst == nullptr) {
        dst = &out->streams[fp];  // a stream lives in one bucket: fingerprints do not collide here
        dst->labels = s.labels;
        dst->labels_json = s.labels_json;
      }
      dst->entries.push_back(e);
    }
  }
}

}  // namespace

Head::Head(const HeadOptions& opts) : opts_(opts) {
  const auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < std::max(opts_.buckets, 1); i++) {
    auto b = std::make_unique<Bucket>();
    MutexLock l(&b->mu);
    b->open = std::make_unique<Batch>();
    b->open->bucket = i;
    b->open->opened = now;
    buckets_.push_back(std::move(b));
  }
}

Status Head::Reserve(uint64_t bytes) {
  MutexLock l(&budget_mu_);
  auto fits = [&]() REQUIRES(budget_mu_) { return bytes_ == 0 || bytes_ + bytes <= opts_.max_bytes; };
  if (!fits()) {
    if (opts_.drop_on_backpressure) {
      rejected_++;
      return Status::ResourceExhausted("ingest is saturated: unflushed data is at its limit");
    }
    auto deadline = std::chrono::steady_clock::now() + opts_.backpressure_wait;
    waiting_++;
    bool got_room = budget_cv_.wait_until(l.native(), deadline, fits);
    waiting_--;
    if (!got_room) {
      rejected_++;
      return Status::ResourceExhausted("ingest is saturated: flushes and merges did not catch up within " +
                                       FormatDuration(opts_.backpressure_wait));
    }
  }
  bytes_ += bytes;
  return Status::OK();
}

void Head::Release(uint64_t bytes) {
  MutexLock l(&budget_mu_);
  bytes_ -= std::min(bytes_, bytes);
  budget_cv_.notify_all();
}

void Head::Charge(uint64_t bytes) {
  MutexLock l(&budget_mu_);
  bytes_ += bytes;
}

std::vector<std::vector<Stream*>> Head::SplitByBucket(Payload* p, uint32_t* nparts) const {
  std::vector<std::vector<Stream*>> by_bucket(buckets_.size());
  for (auto& s : p->streams) {
    if (s.entries.empty()) continue;
    by_bucket[BucketOf(Fingerprint(s.labels))].push_back(&s);
  }
  *nparts = 0;
  for (auto& v : by_bucket) *nparts += v.empty() ? 0 : 1;
  return by_bucket;
}

// Moves the bucket's open batch into the registry.
void Head::SealLocked(Bucket* b, bool force_queue) {
  if (b->open->rows == 0) return;
  if (!force_queue && queue_.size() >= opts_.queue_limit) return;  // saturated: keep growing
  const int idx = b->open->bucket;
  BatchPtr batch(std::move(b->open));
  b->open = std::make_unique<Batch>();
  b->open->bucket = idx;
  b->open->opened = std::chrono::steady_clock::now();
  sealed_.push_back(batch);
  queue_.push_back(std::move(batch));
  reg_cv_.notify_all();
}

void Head::Insert(uint64_t seq, const std::vector<std::vector<Stream*>>& by_bucket) {
  for (size_t bi = 0; bi < by_bucket.size(); bi++) {
    if (by_bucket[bi].empty()) continue;
    Bucket* b = buckets_[bi].get();
    bool full;
    {
      MutexLock bl(&b->mu);
      Batch* batch = b->open.get();
      for (Stream* s : by_bucket[bi]) {
        auto [it, fresh] = batch->streams.try_emplace(Fingerprint(s->labels));
        StreamBuf& sb = it->second;
        if (fresh) {
          sb.labels = s->labels;
          sb.labels_json = LabelsToJson(s->labels);
        }
        batch->bytes += s->Bytes();
        batch->rows += s->entries.size();
        rows_ += s->entries.size();
        for (auto& e : s->entries) sb.entries.push_back(std::move(e));
      }
      batch->seqs.push_back(seq);
      full = Full(*batch);
    }
    if (full) SealIf(bi, false, [&](const Batch& bt) { return Full(bt); });
  }
}

void Head::SealDue(std::chrono::steady_clock::time_point now) {
  for (size_t i = 0; i < buckets_.size(); i++) {
    SealIf(i, false, [&](const Batch& b) { return b.rows > 0 && now - b.opened >= opts_.seal_age; });
  }
}

void Head::SealAll() {
  for (size_t i = 0; i < buckets_.size(); i++) {
    SealIf(i, /*force_queue=*/true, [](const Batch& b) { return b.rows > 0; });
  }
}

void Head::SealFull() {
  for (size_t i = 0; i < buckets_.size(); i++) {
    SealIf(i, false, [&](const Batch& b) { return Full(b); });
  }
}

BatchPtr Head::NextSealed(std::stop_token st) {
  MutexLock l(&reg_mu_);
  reg_cv_.wait(l.native(), st, [&]() REQUIRES(reg_mu_) { return !queue_.empty() || stopping_; });
  if (queue_.empty()) return nullptr;
  BatchPtr b = queue_.front();
  queue_.pop_front();
  return b;
}

void Head::Requeue(BatchPtr b) {
  MutexLock l(&reg_mu_);
  queue_.push_front(std::move(b));
}

bool Head::WaitOrStop(Duration d, std::stop_token st) {
  MutexLock l(&reg_mu_);
  reg_cv_.wait_for(l.native(), st, d, [&]() REQUIRES(reg_mu_) { return stopping_; });
  return stopping_ || st.stop_requested();
}

void Head::Retire(const BatchPtr& b, const std::function<void()>& publish) {
  rows_ -= b->rows;
  {
    MutexLock l(&reg_mu_);
    publish();
    sealed_.remove(b);
    reg_cv_.notify_all();
  }
  Release(b->bytes);
}

void Head::Scan(const query::Query& q, query::TopK* top, const std::function<void()>& snapshot) {
  std::vector<BatchPtr> sealed;
  const bool copy_out = CostlyFilters(q);
  Batch copied;  // open batches' candidate rows, when copy_out
  {
    MutexLock rl(&reg_mu_);
    bool go_on = true;
    for (auto& b : buckets_) {
      MutexLock bl(&b->mu);
      if (copy_out) {
        CopyCandidates(*b->open, q, &copied);
      } else if (go_on) {
        go_on = ScanBatch(*b->open, q, top);
      }
    }
    sealed.assign(sealed_.begin(), sealed_.end());
    snapshot();
    if (!go_on) return;
  }
  if (copy_out && !ScanBatch(copied, q, top)) return;
  // Sealed batches are immutable: read them without the lock.
  for (const auto& b : sealed) {
    if (!ScanBatch(*b, q, top)) return;
  }
}

void Head::LabelKeys(std::vector<std::string>* out, const std::function<void()>& snapshot) {
  std::set<std::string> keys;
  MutexLock rl(&reg_mu_);
  auto add = [&](const Batch& b) {
    for (const auto& [fp, s] : b.streams) {
      for (const auto& [k, v] : s.labels) keys.insert(k);
    }
  };
  for (auto& b : buckets_) {
    MutexLock bl(&b->mu);
    add(*b->open);
  }
  for (const auto& b : sealed_) add(*b);
  snapshot();
  out->insert(out->end(), keys.begin(), keys.end());
}

bool Head::WaitRetired(std::chrono::steady_clock::time_point deadline) {
  MutexLock l(&reg_mu_);
  return reg_cv_.wait_until(l.native(), deadline, [&]() REQUIRES(reg_mu_) { return sealed_.empty() || stopping_; }) &&
         sealed_.empty();
}

void Head::Stop() {
  MutexLock l(&reg_mu_);
  stopping_ = true;
  reg_cv_.notify_all();
}

HeadStats Head::Stats() {
  HeadStats s;
  s.rows = rows_;
  {
    MutexLock l(&budget_mu_);
    s.bytes = bytes_;
  }
  {
    MutexLock l(&reg_mu_);
    s.sealed = sealed_.size();
  }
  s.rejected = rejected_;
  s.waiting = waiting_;
  return s;
}

}  // namespace loge::ingest
