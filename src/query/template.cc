// Parsing and running the Go template subset (template.h).
#include "query/template.h"

#include <algorithm>

#include "query/template_funcs.h"

namespace loge::query {

struct Template::Node {
  enum class Kind { kList, kText, kAction, kIf, kWith };
  struct Pipe;
  // An argument of a command.
  struct Arg {
    enum class Kind { kField, kDot, kString, kInt, kFloat, kBool, kNil, kFunc, kPipe };
    Kind kind = Kind::kNil;
    std::string text;  // field name, string value, function name
    int64_t i = 0;
    double f = 0;
    bool b = false;
    std::shared_ptr<const Pipe> pipe;  // kPipe
  };
  struct Command {
    std::vector<Arg> args;
  };
  struct Pipe {
    std::vector<Command> cmds;
  };

  Kind kind = Kind::kList;
  std::string text;                        // kText
  std::shared_ptr<const Pipe> pipe;        // kAction, kIf, kWith
  std::vector<std::shared_ptr<const Node>> list;       // kList; the body of kIf/kWith
  std::vector<std::shared_ptr<const Node>> else_list;  // kIf/kWith
};

namespace {

using Node = Template::Node;
using Arg = Node::Arg;
using Command = Node::Command;
using Pipe = Node::Pipe;
using NodePtr = std::shared_ptr<const Node>;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Parses one template. Errors read like Go's: `template: line:1: ...`.
class TmplParser {
 public:
  TmplParser(std::string_view in, std::string_view name) : in_(in), name_(name) {}

  Result<NodePtr> Parse() {
    auto root = std::make_shared<Node>();
    std::string end_word;
    LOGE_RETURN_IF_ERROR(ParseList(root.get(), &end_word));
    if (!end_word.empty()) return Error("unexpected {{" + end_word + "}}");
    return NodePtr(root);
  }

 private:
  Status Error(const std::string& msg) const {
    return Status::InvalidArgument("template: " + std::string(name_) + ":" + std::to_string(line_) + ": " + msg);
  }

  // Reads text and actions into `into` until the end of input or an
  // {{else}} / {{end}} (returned in *end_word, with the rest of that action
  // for `else if` left unread after the word).
  Status ParseList(Node* into, std::string* end_word) {
    end_word->clear();
    while (pos_ < in_.size()) {
      size_t open = in_.find("{{", pos_);
      std::string_view text = in_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_);
      bool trim_left = open != std::string_view::npos && open + 2 < in_.size() && in_[open + 2] == '-' &&
                       open + 3 < in_.size() && IsSpace(in_[open + 3]);
      if (trim_left) {
        while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
      }
      if (!text.empty()) {
        auto t = std::make_shared<Node>();
        t->kind = Node::Kind::kText;
        t->text = std::string(text);
        into->list.push_back(t);
      }
      for (char c : in_.substr(pos_, (open == std::string_view::npos ? in_.size() : open) - pos_)) {
        if (c == '\n') line_++;
      }
      if (open == std::string_view::npos) {
        pos_ = in_.size();
        break;
      }
      pos_ = open + 2 + (trim_left ? 1 : 0);
      // Comment.
      SkipSpace();
      if (in_.substr(pos_).starts_with("/*")) {
        size_t close = in_.find("*/", pos_);
        if (close == std::string_view::npos) return Error("unclosed comment");
        pos_ = close + 2;
        SkipSpace();
        LOGE_RETURN_IF_ERROR(CloseAction());
        continue;
      }
      std::string word = PeekWord();
      if (word == "end" || word == "else") {
        pos_ += word.size();
        *end_word = word;
        return Status::OK();
      }
      if (word == "if" || word == "with") {
        pos_ += word.size();
        LOGE_RETURN_IF_ERROR(ParseBranch(into, word == "if" ? Node::Kind::kIf : Node::Kind::kWith));
        continue;
      }
      if (word == "range" || word == "define" || word == "template" || word == "block" || word == "break" ||
          word == "continue") {
        return Error("{{" + word + "}} is not supported");
      }
      auto action = std::make_shared<Node>();
      action->kind = Node::Kind::kAction;
      LOGE_ASSIGN_OR_RETURN(action->pipe, ParsePipe());
      if (action->pipe->cmds.empty()) return Error("missing value for command");
      LOGE_RETURN_IF_ERROR(CloseAction());
      into->list.push_back(action);
    }
    return Status::OK();
  }

  // After `if`/`with`: pipeline }}, body, optional else [if ...], end.
  Status ParseBranch(Node* into, Node::Kind kind) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    LOGE_ASSIGN_OR_RETURN(n->pipe, ParsePipe());
    if (n->pipe->cmds.empty()) return Error(std::string("missing value for ") + (kind == Node::Kind::kIf ? "if" : "with"));
    LOGE_RETURN_IF_ERROR(CloseAction());
    Node body;
    std::string end_word;
    LOGE_RETURN_IF_ERROR(ParseList(&body, &end_word));
    n->list = std::move(body.list);
    if (end_word.empty()) return Error("unexpected EOF");
    if (end_word == "else") {
      SkipSpace();
      std::string next = PeekWord();
      Node else_body;
      if (next == "if" || next == "with") {
        // `else if` chains: the rest is a nested branch that owns the end.
        pos_ += next.size();
        LOGE_RETURN_IF_ERROR(ParseBranch(&else_body, next == "if" ? Node::Kind::kIf : Node::Kind::kWith));
        n->else_list = std::move(else_body.list);
      } else {
        LOGE_RETURN_IF_ERROR(CloseAction());
        std::string end2;
        LOGE_RETURN_IF_ERROR(ParseList(&else_body, &end2));
        if (end2 != "end") return Error(end2.empty() ? "unexpected EOF" : "expected end; found {{" + end2 + "}}");
        LOGE_RETURN_IF_ERROR(CloseAction());
        n->else_list = std::move(else_body.list);
      }
    } else {
      LOGE_RETURN_IF_ERROR(CloseAction());
    }
    into->list.push_back(n);
    return Status::OK();
  }

  void SkipSpace() {
    while (pos_ < in_.size() && IsSpace(in_[pos_])) {
      if (in_[pos_] == '\n') line_++;
      pos_++;
    }
  }

  std::string PeekWord() const {
    size_t i = pos_;
    while (i < in_.size() && IsIdentChar(in_[i])) i++;
    return std::string(in_.substr(pos_, i - pos_));
  }

  // Expects `}}` or ` -}}` (trimming the following text's leading space).
  Status CloseAction() {
    SkipSpace();
    if (in_.substr(pos_).starts_with("-}}")) {
      pos_ += 3;
      while (pos_ < in_.size() && IsSpace(in_[pos_])) {
        if (in_[pos_] == '\n') line_++;
        pos_++;
      }
      return Status::OK();
    }
    if (in_.substr(pos_).starts_with("}}")) {
      pos_ += 2;
      return Status::OK();
    }
    if (pos_ >= in_.size()) return Error("unclosed action");
    return Error("unexpected \"" + std::string(1, in_[pos_]) + "\" in command");
  }

  bool AtClose() const {
    return in_.substr(pos_).starts_with("}}") || in_.substr(pos_).starts_with("-}}") || pos_ >= in_.size();
  }

  // A pipeline up to (not including) `}}` or `)`.
  Result<std::shared_ptr<const Pipe>> ParsePipe() {
    auto p = std::make_shared<Pipe>();
    Command cmd;
    for (;;) {
      SkipSpace();
      if (AtClose() || (pos_ < in_.size() && in_[pos_] == ')')) break;
      char c = in_[pos_];
      if (c == '|') {
        if (cmd.args.empty()) return Error("missing command");
        p->cmds.push_back(std::move(cmd));
        cmd = Command();
        pos_++;
        continue;
      }
      LOGE_ASSIGN_OR_RETURN(Arg a, ParseArg());
      cmd.args.push_back(std::move(a));
    }
    if (!cmd.args.empty()) {
      p->cmds.push_back(std::move(cmd));
    } else if (!p->cmds.empty()) {
      return Error("missing command");
    }
    return std::shared_ptr<const Pipe>(p);
  }

  Result<Arg> ParseArg() {
    Arg a;
    char c = in_[pos_];
    if (c == '(') {
      pos_++;
      LOGE_ASSIGN_OR_RETURN(a.pipe, ParsePipe());
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != ')') return Error("unclosed left paren");
      pos_++;
      a.kind = Arg::Kind::kPipe;
      return a;
    }
    if (c == '.') {
      pos_++;
      size_t s = pos_;
      while (pos_ < in_.size() && IsIdentChar(in_[pos_])) pos_++;
      if (pos_ == s) {
        a.kind = Arg::Kind::kDot;
        return a;
      }
      a.kind = Arg::Kind::kField;
      a.text = std::string(in_.substr(s, pos_ - s));
      if (pos_ < in_.size() && in_[pos_] == '.') return Error("can't evaluate field chains of a label value");
      return a;
    }
    if (c == '"' || c == '`') return ParseString();
    if ((c >= '0' && c <= '9') || ((c == '-' || c == '+') && pos_ + 1 < in_.size() && (std::isdigit(in_[pos_ + 1]) || in_[pos_ + 1] == '.')) ||
        (c == '.' && pos_ + 1 < in_.size() && std::isdigit(in_[pos_ + 1]))) {
      return ParseNumber();
    }
    if (c == '$') return Error("variables are not supported");
    if (IsIdentChar(c)) {
      std::string w = PeekWord();
      pos_ += w.size();
      if (w == "true" || w == "false") {
        a.kind = Arg::Kind::kBool;
        a.b = w == "true";
        return a;
      }
      if (w == "nil") {
        a.kind = Arg::Kind::kNil;
        return a;
      }
      if (FindTmplFunc(w) == nullptr) return Error("function \"" + w + "\" not defined");
      a.kind = Arg::Kind::kFunc;
      a.text = w;
      return a;
    }
    return Error("unexpected \"" + std::string(1, c) + "\" in command");
  }

  Result<Arg> ParseString() {
    Arg a;
    a.kind = Arg::Kind::kString;
    char q = in_[pos_++];
    if (q == '`') {
      size_t close = in_.find('`', pos_);
      if (close == std::string_view::npos) return Error("unterminated raw quoted string");
      a.text = std::string(in_.substr(pos_, close - pos_));
      pos_ = close + 1;
      return a;
    }
    while (pos_ < in_.size() && in_[pos_] != '"') {
      char c = in_[pos_++];
      if (c == '\n') return Error("unterminated quoted string");
      if (c != '\\') {
        a.text.push_back(c);
        continue;
      }
      if (pos_ >= in_.size()) break;
      char e = in_[pos_++];
      switch (e) {
        case 'n': a.text.push_back('\n'); break;
        case 't': a.text.push_back('\t'); break;
        case 'r': a.text.push_back('\r'); break;
        case '\\': a.text.push_back('\\'); break;
        case '"': a.text.push_back('"'); break;
        case '\'': a.text.push_back('\''); break;
        case 'a': a.text.push_back('\a'); break;
        case 'b': a.text.push_back('\b'); break;
        case 'f': a.text.push_back('\f'); break;
        case 'v': a.text.push_back('\v'); break;
        default: return Error("invalid syntax");
      }
    }
    if (pos_ >= in_.size()) return Error("unterminated quoted string");
    pos_++;
    return a;
  }

  Result<Arg> ParseNumber() {
    size_t s = pos_;
    if (in_[pos_] == '-' || in_[pos_] == '+') pos_++;
    while (pos_ < in_.size() && (std::isalnum(static_cast<unsigned char>(in_[pos_])) || in_[pos_] == '.' ||
                                 ((in_[pos_] == '-' || in_[pos_] == '+') && (in_[pos_ - 1] == 'e' || in_[pos_ - 1] == 'E')))) {
      pos_++;
    }
    std::string t(in_.substr(s, pos_ - s));
    Arg a;
    char* end = nullptr;
    errno = 0;
    long long iv = std::strtoll(t.c_str(), &end, 0);
    if (end == t.c_str() + t.size() && errno == 0) {
      a.kind = Arg::Kind::kInt;
      a.i = iv;
      return a;
    }
    double dv = std::strtod(t.c_str(), &end);
    if (end == t.c_str() + t.size()) {
      a.kind = Arg::Kind::kFloat;
      a.f = dv;
      return a;
    }
    return Error("bad number syntax: \"" + t + "\"");
  }

  std::string_view in_;
  std::string_view name_;
  size_t pos_ = 0;
  int line_ = 1;
};

bool Truth(const TmplValue& v) {
  return std::visit(
      [](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, TmplNil>) {
          return false;
        } else if constexpr (std::is_same_v<T, std::string>) {
          return !x.empty();
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return x != 0;
        } else if constexpr (std::is_same_v<T, double>) {
          return x != 0;
        } else if constexpr (std::is_same_v<T, bool>) {
          return x;
        } else {
          return x.ns != 0;
        }
      },
      v);
}

class Executor {
 public:
  Executor(const TemplateInput& in, std::string_view name) : in_(in), name_(name) {}

  Status Run(const std::vector<NodePtr>& list, std::string* out) {
    for (const auto& n : list) {
      switch (n->kind) {
        case Node::Kind::kList: LOGE_RETURN_IF_ERROR(Run(n->list, out)); break;
        case Node::Kind::kText: out->append(n->text); break;
        case Node::Kind::kAction: {
          LOGE_ASSIGN_OR_RETURN(TmplValue v, Eval(*n->pipe));
          out->append(TmplToString(v));
          break;
        }
        case Node::Kind::kIf:
        case Node::Kind::kWith: {
          LOGE_ASSIGN_OR_RETURN(TmplValue v, Eval(*n->pipe));
          LOGE_RETURN_IF_ERROR(Run(Truth(v) ? n->list : n->else_list, out));
          break;
        }
      }
    }
    return Status::OK();
  }

 private:
  Result<TmplValue> Eval(const Pipe& p) {
    std::optional<TmplValue> prev;
    for (const auto& cmd : p.cmds) {
      LOGE_ASSIGN_OR_RETURN(TmplValue v, EvalCommand(cmd, prev));
      prev = std::move(v);
    }
    return prev ? *prev : TmplValue(TmplNil{});
  }

  Result<TmplValue> EvalArg(const Arg& a) {
    switch (a.kind) {
      case Arg::Kind::kField: return TmplValue(Field(a.text));
      case Arg::Kind::kDot: return TmplValue(std::string("map[...]"));
      case Arg::Kind::kString: return TmplValue(a.text);
      case Arg::Kind::kInt: return TmplValue(a.i);
      case Arg::Kind::kFloat: return TmplValue(a.f);
      case Arg::Kind::kBool: return TmplValue(a.b);
      case Arg::Kind::kNil: return TmplValue(TmplNil{});
      case Arg::Kind::kPipe: return Eval(*a.pipe);
      case Arg::Kind::kFunc: {
        Command c;
        c.args.push_back(a);
        return EvalCommand(c, std::nullopt);
      }
    }
    return TmplValue(TmplNil{});
  }

  Result<TmplValue> EvalCommand(const Command& cmd, const std::optional<TmplValue>& piped) {
    const Arg& head = cmd.args.front();
    if (head.kind != Arg::Kind::kFunc) {
      if (cmd.args.size() > 1 || piped) return Fail("can't give argument to non-function " + Describe(head));
      return EvalArg(head);
    }
    std::vector<TmplValue> args;
    for (size_t i = 1; i < cmd.args.size(); i++) {
      LOGE_ASSIGN_OR_RETURN(TmplValue v, EvalArg(cmd.args[i]));
      args.push_back(std::move(v));
    }
    if (piped) args.push_back(*piped);
    TmplCallContext ctx{in_.line, in_.ts};
    auto r = CallTmplFunc(head.text, args, ctx);
    if (!r.ok()) return Fail("error calling " + head.text + ": " + r.status().message());
    return r;
  }

  std::string Field(const std::string& name) const {
    if (in_.labels == nullptr) return "";
    auto it = std::lower_bound(in_.labels->begin(), in_.labels->end(), name,
                               [](const auto& kv, const std::string& n) { return kv.first < n; });
    return it != in_.labels->end() && it->first == name ? it->second : std::string();
  }

  static std::string Describe(const Arg& a) {
    switch (a.kind) {
      case Arg::Kind::kField: return "." + a.text;
      case Arg::Kind::kString: return "\"" + a.text + "\"";
      default: return "value";
    }
  }

  Status Fail(const std::string& msg) const {
    return Status::InvalidArgument("template: " + std::string(name_) + ":1: executing \"" + std::string(name_) +
                                   "\": " + msg);
  }

  const TemplateInput& in_;
  std::string_view name_;
};

void CollectFields(const std::vector<NodePtr>& list, std::vector<std::string>* out);

void CollectPipe(const Pipe& p, std::vector<std::string>* out) {
  for (const auto& c : p.cmds) {
    for (const auto& a : c.args) {
      if (a.kind == Arg::Kind::kField) out->push_back(a.text);
      if (a.kind == Arg::Kind::kPipe) CollectPipe(*a.pipe, out);
    }
  }
}

void CollectFields(const std::vector<NodePtr>& list, std::vector<std::string>* out) {
  for (const auto& n : list) {
    if (n->pipe) CollectPipe(*n->pipe, out);
    CollectFields(n->list, out);
    CollectFields(n->else_list, out);
  }
}

}  // namespace

Result<Template> Template::Parse(std::string_view text, std::string_view name) {
  Template t;
  t.name_ = std::string(name);
  LOGE_ASSIGN_OR_RETURN(t.root_, TmplParser(text, name).Parse());
  const auto& l = t.root_->list;
  if (l.size() == 1 && l[0]->kind == Node::Kind::kAction && l[0]->pipe->cmds.size() == 1 &&
      l[0]->pipe->cmds[0].args.size() == 1 && l[0]->pipe->cmds[0].args[0].kind == Arg::Kind::kField) {
    t.simple_field_ = l[0]->pipe->cmds[0].args[0].text;
  }
  return t;
}

Status Template::Execute(const TemplateInput& in, std::string* out) const {
  Executor ex(in, name_);
  return ex.Run(root_->list, out);
}

void Template::Fields(std::vector<std::string>* out) const { CollectFields(root_->list, out); }

}  // namespace loge::query
