#include "server/tail.h"

#include <algorithm>
#include <map>

#include "core/json_writer.h"
#include "core/metrics.h"

namespace loge::server {

namespace {

// What a push carried for the tailers: each matching stream copied once,
// with the tailers it goes to.
struct TailCaptured : store::PushObserver::Captured {
  std::vector<std::pair<std::shared_ptr<const TailStream>, std::vector<std::shared_ptr<Tailer>>>> streams;
};

void WriteLabelObject(const Labels& ls, JsonWriter* w) {
  w->BeginObject();
  for (const auto& [k, v] : ls) {
    w->Key(k);
    w->String(v);
  }
  w->EndObject();
}

}  // namespace

Tailer::Tailer(query::Query q, size_t limit, int64_t delay_ns, const TailOptions& opts)
    : q_(std::move(q)),
      limit_(std::max<size_t>(limit, 1)),
      delay_ns_(delay_ns),
      queue_(opts.queue_entries, opts.queue_bytes) {}

void Tailer::RememberSent(std::vector<std::string> keys) {
  MutexLock l(&mu_);
  for (auto& k : keys) backfill_keys_.insert(std::move(k));
}

bool Tailer::SentInBackfill(const std::string& key) {
  MutexLock l(&mu_);
  // Each entry is offered live once at most: forget the key once matched.
  return backfill_keys_.erase(key) > 0;
}

std::string Tailer::EntryKey(std::string_view labels_json, int64_t ts, std::string_view line) {
  std::string k;
  k.reserve(labels_json.size() + line.size() + 24);
  k.append(labels_json);
  k.push_back('\n');
  k.append(std::to_string(ts));
  k.push_back('\n');
  k.append(line);
  return k;
}

TailHub::TailHub(const TailOptions& opts) : opts_(opts) {
  worker_ = std::jthread([this](std::stop_token st) { Loop(st); });
}

TailHub::~TailHub() { Stop(); }

void TailHub::Stop() {
  if (!worker_.joinable()) return;
  worker_.request_stop();
  Wake();
  worker_.join();
}

void TailHub::Add(std::shared_ptr<Tailer> t) {
  MutexLock l(&mu_);
  tailers_.push_back(std::move(t));
  count_.store(tailers_.size(), std::memory_order_relaxed);
}

void TailHub::Remove(const std::shared_ptr<Tailer>& t) {
  {
    MutexLock tl(&t->mu_);
    t->closed_ = true;
    t->conn_.reset();
  }
  MutexLock l(&mu_);
  auto it = std::find(tailers_.begin(), tailers_.end(), t);
  if (it == tailers_.end()) return;
  dropped_removed_ += t->queue_.dropped_total();
  tailers_.erase(it);
  count_.store(tailers_.size(), std::memory_order_relaxed);
}

uint64_t TailHub::dropped_total() {
  std::vector<std::shared_ptr<Tailer>> ts;
  uint64_t n;
  {
    MutexLock l(&mu_);
    ts = tailers_;
    n = dropped_removed_;
  }
  for (const auto& t : ts) n += t->queue_.dropped_total();
  return n;
}

std::vector<std::shared_ptr<Tailer>> TailHub::Snapshot() {
  MutexLock l(&mu_);
  return tailers_;
}

std::unique_ptr<store::PushObserver::Captured> TailHub::Capture(const Payload& p) {
  if (count_.load(std::memory_order_relaxed) == 0) return nullptr;
  const auto tailers = Snapshot();
  auto cap = std::make_unique<TailCaptured>();
  for (const auto& s : p.streams) {
    if (s.entries.empty()) continue;
    std::vector<std::shared_ptr<Tailer>> to;
    for (const auto& t : tailers) {
      if (t->q_.MatchesLabels(s.labels)) to.push_back(t);
    }
    if (to.empty()) continue;
    auto copy = std::make_shared<TailStream>();
    copy->stream = s;
    copy->labels_json = LabelsToJson(s.labels);
    cap->streams.emplace_back(std::move(copy), std::move(to));
  }
  if (cap->streams.empty()) return nullptr;
  return cap;
}

void TailHub::Publish(std::unique_ptr<Captured> captured) {
  auto* cap = static_cast<TailCaptured*>(captured.get());
  const int64_t now = SteadyNanos();
  for (const auto& [stream, to] : cap->streams) {
    for (const auto& t : to) t->queue_.Offer(stream, now);
  }
  Wake();
}

void TailHub::Open(const std::shared_ptr<Tailer>& t, std::shared_ptr<WebSocketConn> conn, std::string first) {
  {
    MutexLock l(&t->mu_);
    if (t->closed_) return;
    t->conn_ = conn;
    if (!first.empty()) {
      t->writing_ = true;
      std::weak_ptr<Tailer> weak = t;
      conn->SendText(std::move(first), [this, weak](bool) {
        if (auto tt = weak.lock()) {
          MutexLock tl(&tt->mu_);
          tt->writing_ = false;
        }
        Wake();
      });
    }
  }
  Wake();
}

void TailHub::Wake() {
  {
    MutexLock l(&wake_mu_);
    woken_ = true;
  }
  wake_cv_.notify_one();
}

void TailHub::Loop(std::stop_token st) {
  while (!st.stop_requested()) {
    const int64_t now = SteadyNanos();
    int64_t next_due = 0;
    for (const auto& t : Snapshot()) {
      const int64_t due = Serve(t, now);
      if (due != 0 && (next_due == 0 || due < next_due)) next_due = due;
    }
    MutexLock l(&wake_mu_);
    auto woken = [&]() REQUIRES(wake_mu_) { return woken_ || st.stop_requested(); };
    if (next_due == 0) {
      // Stop() wakes us after request_stop, so an unbounded wait ends.
      wake_cv_.wait(l.native(), woken);
    } else {
      wake_cv_.wait_for(l.native(), std::chrono::nanoseconds(std::max<int64_t>(next_due - SteadyNanos(), 0)), woken);
    }
    woken_ = false;
  }
}

int64_t TailHub::Serve(const std::shared_ptr<Tailer>& t, int64_t now) {
  std::shared_ptr<WebSocketConn> conn;
  bool check_backfill = false;
  std::vector<TailQueue::Item> items;
  std::vector<TailQueue::Drop> drops;
  {
    MutexLock l(&t->mu_);
    if (t->closed_ || !t->conn_ || t->writing_) return 0;
    conn = t->conn_;
    t->queue_.Take(t->limit_, now - t->delay_ns_, &items, &drops);
    check_backfill = !t->backfill_keys_.empty();
  }
  int64_t due = 0;
  if (items.empty() && drops.empty()) {
    if (auto oldest = t->queue_.OldestArrival()) due = *oldest + t->delay_ns_;
    return due;
  }
  // The query's filters and pipeline, as the engine runs them on a row.
  const query::Query& q = t->q_;
  // Pending delete requests hide live lines as they hide stored ones.
  const query::Tombstones deletes = opts_.pending_deletes ? opts_.pending_deletes() : nullptr;
  std::map<Labels, std::vector<std::pair<int64_t, std::string>>> streams;
  for (const auto& it : items) {
    const Stream& s = it.stream->stream;
    const Entry& e = s.entries[it.index];
    if (!q.MatchesLine(e.line) || !q.MatchesEntry(s.labels, e.metadata)) continue;
    if (deletes && query::StreamTombstones(deletes, s.labels).Deletes(e.ts, e.line)) continue;
    t->lb_.Reset(&s.labels, nullptr);
    t->lb_.AddMetadata(e.metadata);
    query::PipelineLine line{e.line, {}};
    if (q.HasPipeline() && !q.pipeline->Process(e.ts, &line, &t->lb_)) continue;
    if (check_backfill && t->SentInBackfill(Tailer::EntryKey(it.stream->labels_json, e.ts, line.text))) continue;
    streams[t->lb_.All()].emplace_back(e.ts, std::string(line.text));
  }
  if (streams.empty() && drops.empty()) {
    // Everything was filtered out: look again at once for more.
    return t->queue_.size() > 0 ? now : 0;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("streams");
  w.BeginArray();
  for (auto& [labels, values] : streams) {
    std::stable_sort(values.begin(), values.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    w.BeginObject();
    w.Key("stream");
    WriteLabelObject(labels, &w);
    w.Key("values");
    w.BeginArray();
    for (const auto& [ts, line] : values) {
      w.BeginArray();
      w.String(std::to_string(ts));
      w.String(line);
      w.EndArray();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("dropped_entries");
  w.BeginArray();
  for (const auto& d : drops) {
    w.BeginObject();
    w.Key("labels");
    WriteLabelObject(d.stream->stream.labels, &w);
    w.Key("timestamp");
    w.String(std::to_string(d.ts));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  {
    MutexLock l(&t->mu_);
    if (t->closed_) return 0;
    t->writing_ = true;
  }
  std::weak_ptr<Tailer> weak = t;
  conn->SendText(w.Take(), [this, weak](bool) {
    if (auto tt = weak.lock()) {
      MutexLock tl(&tt->mu_);
      tt->writing_ = false;
    }
    Wake();
  });
  return 0;
}

}  // namespace loge::server
