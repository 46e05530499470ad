#include "query/pattern.h"

namespace loge::query {

namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsAlpha(c) || (c >= '0' && c <= '9'); }

// The length of a capture `<name>` at in[i], or 0 when none starts there.
size_t CaptureAt(std::string_view in, size_t i) {
  if (in[i] != '<' || i + 2 >= in.size()) return 0;
  if (!IsAlpha(in[i + 1]) && in[i + 1] != '_') return 0;
  size_t j = i + 2;
  while (j < in.size() && (IsAlnum(in[j]) || in[j] == '_')) j++;
  return j < in.size() && in[j] == '>' ? j + 1 - i : 0;
}

}  // namespace

Result<Pattern> Pattern::Make(std::string_view in, bool for_filter) {
  Pattern p;
  size_t i = 0;
  while (i < in.size()) {
    size_t c = CaptureAt(in, i);
    if (c > 0) {
      p.nodes_.push_back(Node{true, std::string(in.substr(i + 1, c - 2))});
      i += c;
      continue;
    }
    if (p.nodes_.empty() || p.nodes_.back().capture) p.nodes_.push_back(Node{false, ""});
    p.nodes_.back().text.push_back(in[i]);
    i++;
  }
  for (size_t k = 0; k + 1 < p.nodes_.size(); k++) {
    if (p.nodes_[k].capture && p.nodes_[k + 1].capture) {
      return Status::InvalidArgument("found consecutive capture '<" + p.nodes_[k].text + "><" + p.nodes_[k + 1].text +
                                     ">': invalid expression");
    }
  }
  for (const auto& n : p.nodes_) {
    if (!n.capture || n.Unnamed()) continue;
    if (for_filter) return Status::InvalidArgument("named captures are not allowed: found '<" + n.text + ">'");
    for (const auto& seen : p.names_) {
      if (seen == n.text) {
        return Status::InvalidArgument("duplicate capture name (" + n.text + "): invalid expression");
      }
    }
    p.names_.push_back(n.text);
  }
  if (!for_filter && p.names_.empty()) return Status::InvalidArgument("at least one capture is required");
  return p;
}

void Pattern::Match(std::string_view in, std::vector<std::string_view>* out) const {
  out->clear();
  if (in.empty() || nodes_.empty()) return;
  size_t k = 0;
  if (!nodes_[0].capture) {
    if (!in.starts_with(nodes_[0].text)) return;
    in.remove_prefix(nodes_[0].text.size());
    k = 1;
  }
  if (k == nodes_.size()) return;
  while (k < nodes_.size()) {
    const Node& cap = nodes_[k];
    if (k + 1 == nodes_.size()) {  // ending on a capture
      if (!cap.Unnamed()) out->push_back(in);
      return;
    }
    const std::string& lit = nodes_[k + 1].text;
    k += 2;
    size_t at = in.find(lit);
    if (at == std::string_view::npos) {
      if (!cap.Unnamed()) out->push_back(in);
      return;
    }
    if (!cap.Unnamed()) out->push_back(in.substr(0, at));
    in.remove_prefix(at + lit.size());
  }
}

bool Pattern::Test(std::string_view in) const {
  if (in.empty() || nodes_.empty()) return in.empty() && nodes_.empty();
  size_t off = 0;
  for (size_t i = 0; i < nodes_.size(); i++) {
    if (nodes_[i].capture) continue;
    size_t j = in.substr(off).find(nodes_[i].text);
    if (j == std::string_view::npos) return false;
    if (i != 0 && j == 0) return false;
    off += j + nodes_[i].text.size();
  }
  bool req_rem = nodes_.back().capture;
  bool has_rem = off != in.size();
  return req_rem == has_rem;
}

}  // namespace loge::query
