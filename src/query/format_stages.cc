// line_format, label_format, drop, keep and decolorize, as Loki runs them.
#include <re2/re2.h>

#include <algorithm>

#include "query/stages.h"
#include "query/template.h"

namespace loge::query {

namespace {

class LineFormat : public Stage {
 public:
  explicit LineFormat(Template t) : t_(std::move(t)) {}
  bool Process(int64_t ts, PipelineLine* line, LabelsBuilder* lb) const override {
    if (const auto& key = t_.simple_field()) {
      auto v = lb->Get(*key);
      line->Replace(v ? std::string(*v) : std::string());
      return true;
    }
    Labels all = lb->All();
    std::string out;
    Status st = t_.Execute(TemplateInput{&all, line->text, ts}, &out);
    if (!st.ok()) {
      lb->SetErr(kErrTemplate);
      lb->SetErrDetails(st.message());
      return true;
    }
    line->Replace(std::move(out));
    return true;
  }
  void RequiredLabels(std::vector<std::string>* out) const override { t_.Fields(out); }
  bool ChangesLine() const override { return true; }

 private:
  Template t_;
};

class LabelFormat : public Stage {
 public:
  struct Item {
    std::string dst;
    std::string src;  // rename
    std::shared_ptr<const Template> tmpl;  // null: a rename
  };
  explicit LabelFormat(std::vector<Item> items) : items_(std::move(items)) {}
  bool Process(int64_t ts, PipelineLine* line, LabelsBuilder* lb) const override {
    std::optional<Labels> snapshot;  // the labels templates see, taken at the first template
    for (const auto& it : items_) {
      if (!it.tmpl) {
        if (auto v = lb->Get(it.src)) {
          std::string value(*v);
          lb->Set(LabelCategory::kParsed, it.dst, value);
          lb->Del(it.src);
        }
        continue;
      }
      if (!snapshot) snapshot = lb->All();
      std::string out;
      Status st = it.tmpl->Execute(TemplateInput{&*snapshot, line->text, ts}, &out);
      if (!st.ok()) {
        lb->SetErr(kErrTemplate);
        lb->SetErrDetails(st.message());
        continue;
      }
      lb->Set(LabelCategory::kParsed, it.dst, out);
    }
    return true;
  }
  void RequiredLabels(std::vector<std::string>* out) const override {
    for (const auto& it : items_) {
      if (it.tmpl) {
        it.tmpl->Fields(out);
      } else {
        out->push_back(it.src);
      }
    }
  }

 private:
  std::vector<Item> items_;
};

class Drop : public Stage {
 public:
  explicit Drop(std::vector<NamedMatcher> items) : items_(std::move(items)) {}
  bool Process(int64_t, PipelineLine*, LabelsBuilder* lb) const override {
    for (const auto& it : items_) {
      const std::string& name = it.matcher ? it.matcher->name() : it.name;
      if (name == kErrorLabel || name == kErrorDetailsLabel) {
        bool details = name == kErrorDetailsLabel;
        const std::string& v = details ? lb->err_details() : lb->err();
        if (!it.matcher || it.matcher->MatchesValue(v)) details ? lb->ResetErrDetails() : lb->ResetErr();
        continue;
      }
      auto v = lb->Get(name);
      if (it.matcher) {
        if (it.matcher->MatchesValue(v ? *v : std::string_view())) lb->Del(name);
      } else if (v) {
        lb->Del(name);
      }
    }
    return true;
  }
  bool OnlyClearsErrors() const override {
    for (const auto& it : items_) {
      const std::string& name = it.matcher ? it.matcher->name() : it.name;
      if (name != kErrorLabel && name != kErrorDetailsLabel) return false;
    }
    return true;
  }

 private:
  std::vector<NamedMatcher> items_;
};

class Keep : public Stage {
 public:
  explicit Keep(std::vector<NamedMatcher> items) : items_(std::move(items)) {}
  bool Process(int64_t, PipelineLine*, LabelsBuilder* lb) const override {
    if (items_.empty()) return true;
    Labels s, m, p;
    lb->Categorized(&s, &m, &p);
    auto visit = [&](const Labels& ls) {
      for (const auto& [k, v] : ls) {
        if (k == kErrorLabel || k == kErrorDetailsLabel || k == kPreserveErrorLabel) continue;
        bool keep = false;
        for (const auto& it : items_) {
          if (it.matcher && it.matcher->name() == k && it.matcher->MatchesValue(v)) keep = true;
          if (!it.matcher && it.name == k) keep = true;
          if (keep) break;
        }
        if (!keep) lb->Del(k);
      }
    };
    visit(s);
    visit(m);
    visit(p);
    return true;
  }

 private:
  std::vector<NamedMatcher> items_;
};

class Decolorize : public Stage {
 public:
  Decolorize()
      : re_(std::make_shared<const re2::RE2>(
            "[\\x{001B}\\x{009B}][\\[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\\x{0007})|"
            "(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))")) {}
  bool Process(int64_t, PipelineLine* line, LabelsBuilder*) const override {
    if (line->text.find('\x1b') == std::string_view::npos && line->text.find("\xc2\x9b") == std::string_view::npos) {
      return true;
    }
    std::string s(line->text);
    RE2::GlobalReplace(&s, *re_, "");
    line->Replace(std::move(s));
    return true;
  }
  bool ChangesLine() const override { return true; }

 private:
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace

Result<StagePtr> MakeLineFormat(const std::string& tmpl) {
  auto t = Template::Parse(tmpl, "line");
  if (!t.ok()) return Status::InvalidArgument("invalid line template: " + t.status().message());
  return StagePtr(std::make_shared<LineFormat>(std::move(*t)));
}

Result<StagePtr> MakeLabelFormat(std::vector<LabelFormatItem> items) {
  std::vector<LabelFormat::Item> out;
  for (auto& it : items) {
    if (it.dst == kErrorLabel) return Status::InvalidArgument(it.dst + " cannot be formatted");
    for (const auto& seen : out) {
      if (seen.dst == it.dst) {
        return Status::InvalidArgument("multiple label name '" + it.dst + "' not allowed in a single format operation");
      }
    }
    LabelFormat::Item li;
    li.dst = it.dst;
    if (it.rename) {
      li.src = it.src_or_template;
    } else {
      auto t = Template::Parse(it.src_or_template, "label");
      if (!t.ok()) {
        return Status::InvalidArgument("invalid template for label '" + it.dst + "': " + t.status().message());
      }
      li.tmpl = std::make_shared<const Template>(std::move(*t));
    }
    out.push_back(std::move(li));
  }
  return StagePtr(std::make_shared<LabelFormat>(std::move(out)));
}

StagePtr MakeDrop(std::vector<NamedMatcher> items) { return std::make_shared<Drop>(std::move(items)); }
StagePtr MakeKeep(std::vector<NamedMatcher> items) { return std::make_shared<Keep>(std::move(items)); }
StagePtr MakeDecolorize() { return std::make_shared<Decolorize>(); }

}  // namespace loge::query
