#include "protocols/fhir/fhirpath/parser.hpp"

#include <charconv>
#include <string>
#include <vector>

namespace cg::fhirpath {
namespace {

enum class Tok : std::uint8_t {
  kEnd,
  kIdentifier,  // plain identifier or keyword
  kDelimited,   // `identifier`
  kString,      // 'text' (unescaped)
  kNumber,      // 12, 1.5
  kDate,        // @2014-01 (text without '@')
  kDateTime,    // @2014-01-01T10:00
  kTime,        // @T10:00 (text without "@T")
  kSpecial,     // $this, $index, $total (text without '$')
  kExternal,    // %name, %'name', %`name` (text without '%')
  kPunct,       // operators and brackets
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
  std::size_t pos = 0;
};

Error error_at(std::size_t pos, std::string_view msg) {
  return Error::invalid("FHIRPath at " + std::to_string(pos) + ": " + std::string(msg));
}

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> out;
    for (;;) {
      auto st = skip_space();
      if (!st) return st.take_error();
      Token t;
      t.pos = i_;
      if (i_ >= s_.size()) {
        out.push_back(std::move(t));
        return out;
      }
      auto r = next(t);
      if (!r) return r.take_error();
      out.push_back(std::move(t));
    }
  }

 private:
  Status skip_space() {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i_;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        const std::size_t end = s_.find("*/", i_ + 2);
        if (end == std::string_view::npos) return error_at(i_, "unterminated comment");
        i_ = end + 2;
      } else {
        break;
      }
    }
    return ok_status();
  }

  Status next(Token& t) {
    const char c = s_[i_];
    if (is_ident_start(c)) {
      const std::size_t start = i_;
      while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
      t.kind = Tok::kIdentifier;
      t.text = std::string(s_.substr(start, i_ - start));
      return ok_status();
    }
    if (is_digit(c)) return number(t);
    if (c == '\'' || c == '`') {
      auto text = quoted(c);
      if (!text) return text.take_error();
      t.kind = c == '\'' ? Tok::kString : Tok::kDelimited;
      t.text = std::move(*text);
      return ok_status();
    }
    if (c == '@') return temporal(t);
    if (c == '$') {
      ++i_;
      const std::size_t start = i_;
      while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
      t.kind = Tok::kSpecial;
      t.text = std::string(s_.substr(start, i_ - start));
      if (t.text != "this" && t.text != "index" && t.text != "total") {
        return error_at(t.pos, "unknown special variable $" + t.text);
      }
      return ok_status();
    }
    if (c == '%') {
      ++i_;
      t.kind = Tok::kExternal;
      if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '`' || s_[i_] == '"')) {
        auto text = quoted(s_[i_]);
        if (!text) return text.take_error();
        t.text = std::move(*text);
        return ok_status();
      }
      const std::size_t start = i_;
      while (i_ < s_.size() && (is_ident_char(s_[i_]) || s_[i_] == '-')) ++i_;
      if (i_ == start) return error_at(t.pos, "expected a name after %");
      t.text = std::string(s_.substr(start, i_ - start));
      return ok_status();
    }
    static constexpr std::string_view kTwo[] = {"<=", ">=", "!=", "!~"};
    for (std::string_view op : kTwo) {
      if (s_.substr(i_, 2) == op) {
        t.kind = Tok::kPunct;
        t.text = std::string(op);
        i_ += 2;
        return ok_status();
      }
    }
    static constexpr std::string_view kOne = ".[](){},+-*/&|<>=~";
    if (kOne.find(c) != std::string_view::npos) {
      t.kind = Tok::kPunct;
      t.text = std::string(1, c);
      ++i_;
      return ok_status();
    }
    return error_at(i_, std::string("unexpected character '") + c + "'");
  }

  Status number(Token& t) {
    const std::size_t start = i_;
    while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    if (i_ + 1 < s_.size() && s_[i_] == '.' && is_digit(s_[i_ + 1])) {
      ++i_;
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    t.kind = Tok::kNumber;
    t.text = std::string(s_.substr(start, i_ - start));
    return ok_status();
  }

  Result<std::string> quoted(char q) {
    const std::size_t start = i_;
    ++i_;
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) {
      char c = s_[i_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) break;
      c = s_[i_++];
      switch (c) {
        case '\'':
        case '"':
        case '`':
        case '\\':
        case '/':
          out += c;
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = 0;
          if (i_ + 4 > s_.size()) return error_at(i_, "bad \\u escape");
          auto [p, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, cp, 16);
          if (ec != std::errc() || p != s_.data() + i_ + 4) return error_at(i_, "bad \\u escape");
          i_ += 4;
          append_utf8(out, cp);
          break;
        }
        default:
          return error_at(i_ - 2, std::string("unknown escape \\") + c);
      }
    }
    if (i_ >= s_.size()) return error_at(start, "unterminated string");
    ++i_;
    return out;
  }

  // @date, @dateTime, @Ttime. Reads the characters a temporal literal may contain and
  // leaves validation to the value parsers.
  Status temporal(Token& t) {
    ++i_;
    const std::size_t start = i_;
    auto digits = [&] {
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    };
    auto time_part = [&] {
      digits();
      while (i_ + 1 < s_.size() && s_[i_] == ':' && is_digit(s_[i_ + 1])) ++i_, digits();
      if (i_ + 1 < s_.size() && s_[i_] == '.' && is_digit(s_[i_ + 1])) ++i_, digits();
    };
    auto zone = [&] {
      if (i_ < s_.size() && s_[i_] == 'Z') {
        ++i_;
      } else if (i_ + 2 < s_.size() && (s_[i_] == '+' || s_[i_] == '-') && is_digit(s_[i_ + 1]) &&
                 is_digit(s_[i_ + 2])) {
        i_ += 3;
        if (i_ + 2 < s_.size() && s_[i_] == ':' && is_digit(s_[i_ + 1])) i_ += 3;
      }
    };
    if (i_ < s_.size() && s_[i_] == 'T') {
      ++i_;
      time_part();
      const std::size_t end = i_;
      zone();
      if (i_ != end) return error_at(t.pos, "a time literal cannot have a time-zone");
      auto v = Temporal::parse_time(s_.substr(start + 1, end - start - 1));
      if (!v) return error_at(t.pos, "invalid time literal");
      t.kind = Tok::kTime;
      t.text = std::string(s_.substr(start + 1, end - start - 1));
      return ok_status();
    }
    digits();
    while (i_ + 1 < s_.size() && s_[i_] == '-' && is_digit(s_[i_ + 1])) ++i_, digits();
    bool date_time = false;
    if (i_ < s_.size() && s_[i_] == 'T') {
      date_time = true;
      ++i_;
      if (i_ < s_.size() && is_digit(s_[i_])) {
        time_part();
        zone();
      }
    }
    std::string text(s_.substr(start, i_ - start));
    if (date_time && text.back() == 'T') text.pop_back();
    if (date_time) {
      if (!Temporal::parse_date_time(text)) return error_at(t.pos, "invalid dateTime literal");
      t.kind = Tok::kDateTime;
    } else {
      if (!Temporal::parse_date(text)) return error_at(t.pos, "invalid date literal");
      t.kind = Tok::kDate;
    }
    t.text = std::move(text);
    return ok_status();
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// Binding powers, loosest first.
int binary_power(const Token& t, BinaryOp& op, bool& type_op) {
  type_op = false;
  const std::string& s = t.text;
  if (t.kind == Tok::kIdentifier) {
    if (s == "implies") return op = BinaryOp::kImplies, 1;
    if (s == "or") return op = BinaryOp::kOr, 2;
    if (s == "xor") return op = BinaryOp::kXor, 2;
    if (s == "and") return op = BinaryOp::kAnd, 3;
    if (s == "in") return op = BinaryOp::kIn, 4;
    if (s == "contains") return op = BinaryOp::kContains, 4;
    if (s == "is" || s == "as") return type_op = true, 8;
    if (s == "div") return op = BinaryOp::kIntDiv, 10;
    if (s == "mod") return op = BinaryOp::kMod, 10;
    return 0;
  }
  if (t.kind != Tok::kPunct) return 0;
  if (s == "=") return op = BinaryOp::kEq, 5;
  if (s == "!=") return op = BinaryOp::kNe, 5;
  if (s == "~") return op = BinaryOp::kEquiv, 5;
  if (s == "!~") return op = BinaryOp::kNotEquiv, 5;
  if (s == "<") return op = BinaryOp::kLt, 6;
  if (s == ">") return op = BinaryOp::kGt, 6;
  if (s == "<=") return op = BinaryOp::kLe, 6;
  if (s == ">=") return op = BinaryOp::kGe, 6;
  if (s == "|") return op = BinaryOp::kUnion, 7;
  if (s == "+") return op = BinaryOp::kAdd, 9;
  if (s == "-") return op = BinaryOp::kSub, 9;
  if (s == "&") return op = BinaryOp::kConcat, 9;
  if (s == "*") return op = BinaryOp::kMul, 10;
  if (s == "/") return op = BinaryOp::kDiv, 10;
  return 0;
}

using NodePtr = std::unique_ptr<AstNode>;

NodePtr make(AstNode::Kind kind, std::size_t pos) {
  auto n = std::make_unique<AstNode>();
  n->kind = kind;
  n->position = pos;
  return n;
}

// The dotted name an argument of is()/as()/ofType() spells, or empty if it is not one.
std::string type_name_of(const AstNode& n) {
  if (n.kind != AstNode::Kind::kMember) return {};
  if (!n.target) return n.name;
  std::string prefix = type_name_of(*n.target);
  return prefix.empty() ? std::string() : prefix + "." + n.name;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, CompileLimits limits)
      : t_(std::move(tokens)), limits_(limits) {}

  Result<NodePtr> parse() {
    auto e = expression(0);
    if (!e) return e;
    if (peek().kind != Tok::kEnd) return error_at(peek().pos, "unexpected '" + peek().text + "'");
    return e;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const { return t_[std::min(k_ + ahead, t_.size() - 1)]; }
  bool is_punct(std::string_view p, std::size_t ahead = 0) const {
    return peek(ahead).kind == Tok::kPunct && peek(ahead).text == p;
  }
  Status expect(std::string_view p) {
    if (!is_punct(p)) {
      return error_at(peek().pos, "expected '" + std::string(p) + "'" +
                                      (peek().kind == Tok::kEnd ? " at end" : ""));
    }
    ++k_;
    return ok_status();
  }

  struct DepthGuard {
    explicit DepthGuard(std::size_t& d) : d_(d) { ++d_; }
    ~DepthGuard() { --d_; }
    std::size_t& d_;
  };

  Result<NodePtr> expression(int min_power) {
    DepthGuard guard(depth_);
    if (depth_ > limits_.max_depth) return error_at(peek().pos, "expression nested too deeply");
    auto left = unary();
    if (!left) return left;
    NodePtr lhs = std::move(*left);
    for (;;) {
      BinaryOp op{};
      bool type_op = false;
      const Token& tok = peek();
      const int power = binary_power(tok, op, type_op);
      if (power == 0 || power <= min_power) break;
      const std::size_t pos = tok.pos;
      const bool is_as = tok.text == "as";
      ++k_;
      if (type_op) {
        auto spec = type_specifier();
        if (!spec) return spec.take_error();
        auto n = make(is_as ? AstNode::Kind::kAs : AstNode::Kind::kIs, pos);
        n->target = std::move(lhs);
        n->type = std::move(*spec);
        lhs = std::move(n);
        continue;
      }
      auto rhs = expression(power);
      if (!rhs) return rhs;
      auto n = make(AstNode::Kind::kBinary, pos);
      n->op = op;
      n->args.push_back(std::move(lhs));
      n->args.push_back(std::move(*rhs));
      lhs = std::move(n);
    }
    return lhs;
  }

  Result<TypeSpec> type_specifier() {
    std::string name;
    for (;;) {
      const Token& t = peek();
      if (t.kind != Tok::kIdentifier && t.kind != Tok::kDelimited) {
        return error_at(t.pos, "expected a type name");
      }
      name += t.text;
      ++k_;
      if (!is_punct(".")) break;
      name += '.';
      ++k_;
    }
    return resolve_type_spec(name);
  }

  Result<NodePtr> unary() {
    if (is_punct("+") || is_punct("-")) {
      const bool negate = peek().text == "-";
      const std::size_t pos = peek().pos;
      ++k_;
      DepthGuard guard(depth_);
      if (depth_ > limits_.max_depth) return error_at(pos, "expression nested too deeply");
      auto operand = unary();
      if (!operand || !negate) return operand;
      auto n = make(AstNode::Kind::kNegate, pos);
      n->target = std::move(*operand);
      return n;
    }
    return postfix();
  }

  Result<NodePtr> postfix() {
    auto term_result = term();
    if (!term_result) return term_result;
    NodePtr node = std::move(*term_result);
    for (;;) {
      if (is_punct(".")) {
        ++k_;
        auto inv = invocation(std::move(node));
        if (!inv) return inv;
        node = std::move(*inv);
      } else if (is_punct("[")) {
        const std::size_t pos = peek().pos;
        ++k_;
        auto index = expression(0);
        if (!index) return index;
        if (auto st = expect("]"); !st) return st.take_error();
        auto n = make(AstNode::Kind::kIndexer, pos);
        n->target = std::move(node);
        n->args.push_back(std::move(*index));
        node = std::move(n);
      } else {
        return node;
      }
    }
  }

  Result<NodePtr> term() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::kEnd:
        return error_at(t.pos, "unexpected end of expression");
      case Tok::kNumber:
        return number_literal();
      case Tok::kString: {
        auto n = make(AstNode::Kind::kLiteral, t.pos);
        n->value = Item::string(t.text);
        ++k_;
        return n;
      }
      case Tok::kDate:
      case Tok::kDateTime:
      case Tok::kTime: {
        auto n = make(AstNode::Kind::kLiteral, t.pos);
        auto v = t.kind == Tok::kDate       ? Temporal::parse_date(t.text)
                 : t.kind == Tok::kDateTime ? Temporal::parse_date_time(t.text)
                                            : Temporal::parse_time(t.text);
        n->value = Item::temporal(*v);  // validated by the lexer
        ++k_;
        return n;
      }
      case Tok::kSpecial: {
        auto n = make(t.text == "this"    ? AstNode::Kind::kThis
                      : t.text == "index" ? AstNode::Kind::kIndex
                                          : AstNode::Kind::kTotal,
                      t.pos);
        ++k_;
        return n;
      }
      case Tok::kExternal: {
        auto n = make(AstNode::Kind::kExternal, t.pos);
        n->name = t.text;
        ++k_;
        return n;
      }
      case Tok::kPunct:
        if (t.text == "(") {
          ++k_;
          auto inner = expression(0);
          if (!inner) return inner;
          if (auto st = expect(")"); !st) return st.take_error();
          return inner;
        }
        if (t.text == "{") {
          ++k_;
          if (auto st = expect("}"); !st) return st.take_error();
          return make(AstNode::Kind::kEmpty, t.pos);
        }
        return error_at(t.pos, "unexpected '" + t.text + "'");
      case Tok::kIdentifier:
        if (t.text == "true" || t.text == "false") {
          auto n = make(AstNode::Kind::kLiteral, t.pos);
          n->value = Item::boolean(t.text == "true");
          ++k_;
          return n;
        }
        return invocation(nullptr);
      case Tok::kDelimited:
        return invocation(nullptr);
    }
    return error_at(t.pos, "unexpected token");
  }

  Result<NodePtr> number_literal() {
    const Token& t = peek();
    ++k_;
    auto n = make(AstNode::Kind::kLiteral, t.pos);
    const bool is_decimal = t.text.find('.') != std::string::npos;
    // A number followed by a unit string or a calendar keyword is a quantity.
    const Token& u = peek();
    const bool unit_string = u.kind == Tok::kString;
    const bool unit_word = u.kind == Tok::kIdentifier && !calendar_unit(u.text).empty();
    if (unit_string || unit_word) {
      auto d = Decimal::parse(t.text);
      if (!d) return error_at(t.pos, "invalid number");
      n->value = Item::quantity(Quantity{*d, u.text, unit_word});
      ++k_;
      return n;
    }
    if (is_decimal) {
      auto d = Decimal::parse(t.text);
      if (!d) return error_at(t.pos, "invalid number");
      n->value = Item::decimal(*d);
      return n;
    }
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (ec != std::errc() || p != t.text.data() + t.text.size()) {
      // Too large for an Integer: keep it as a Decimal.
      auto d = Decimal::parse(t.text);
      if (!d) return error_at(t.pos, "invalid number");
      n->value = Item::decimal(*d);
      return n;
    }
    n->value = Item::integer(v);
    return n;
  }

  // identifier or function call, applied to `target` (null: the implicit input).
  Result<NodePtr> invocation(NodePtr target) {
    const Token& t = peek();
    if (t.kind == Tok::kSpecial) {
      if (target) return error_at(t.pos, "$" + t.text + " cannot follow '.'");
      return term();
    }
    if (t.kind != Tok::kIdentifier && t.kind != Tok::kDelimited) {
      return error_at(t.pos, "expected a name");
    }
    const std::size_t pos = t.pos;
    std::string name = t.text;
    const bool delimited = t.kind == Tok::kDelimited;
    ++k_;
    if (delimited || !is_punct("(")) {
      auto n = make(AstNode::Kind::kMember, pos);
      n->name = std::move(name);
      n->target = std::move(target);
      return n;
    }
    ++k_;  // '('
    DepthGuard guard(depth_);
    if (depth_ > limits_.max_depth) return error_at(pos, "expression nested too deeply");
    auto n = make(AstNode::Kind::kFunction, pos);
    n->name = name;
    n->target = std::move(target);
    if (!is_punct(")")) {
      for (;;) {
        auto arg = expression(0);
        if (!arg) return arg;
        n->args.push_back(std::move(*arg));
        if (!is_punct(",")) break;
        ++k_;
      }
    }
    if (auto st = expect(")"); !st) return st.take_error();
    const FunctionInfo* info = find_function(name);
    if (!info) return error_at(pos, "unknown function " + name + "()");
    if (n->args.size() < info->min_args || n->args.size() > info->max_args) {
      return error_at(pos, "wrong number of arguments to " + name + "()");
    }
    n->function = info->id;
    if (info->id == FunctionId::kOfType || info->id == FunctionId::kAsFunction ||
        info->id == FunctionId::kIsFunction) {
      const std::string type_name = type_name_of(*n->args[0]);
      if (type_name.empty()) return error_at(pos, name + "() needs a type name");
      auto spec = resolve_type_spec(type_name);
      if (!spec) return error_at(pos, spec.error().message);
      n->type = std::move(*spec);
    }
    return n;
  }

  std::vector<Token> t_;
  std::size_t k_ = 0;
  std::size_t depth_ = 0;
  CompileLimits limits_;
};

SystemType system_type(std::string_view name) {
  if (name == "Boolean") return SystemType::kBoolean;
  if (name == "String") return SystemType::kString;
  if (name == "Integer") return SystemType::kInteger;
  if (name == "Decimal") return SystemType::kDecimal;
  if (name == "Date") return SystemType::kDate;
  if (name == "DateTime") return SystemType::kDateTime;
  if (name == "Time") return SystemType::kTime;
  if (name == "Quantity") return SystemType::kQuantity;
  if (name == "Any") return SystemType::kAny;
  return SystemType::kNone;
}

}  // namespace

Result<TypeSpec> resolve_type_spec(std::string_view text) {
  TypeSpec spec;
  spec.text = std::string(text);
  if (text.starts_with("System.")) {
    spec.system = system_type(text.substr(7));
    spec.matches_nothing = spec.system == SystemType::kNone;
    return spec;
  }
  if (text.starts_with("FHIR.")) {
    if (auto id = fhir::find_type(text.substr(5))) {
      spec.fhir_type = *id;
    } else {
      spec.matches_nothing = true;
    }
    return spec;
  }
  if (auto id = fhir::find_type(text)) {
    spec.fhir_type = *id;
    return spec;
  }
  spec.system = system_type(text);
  if (spec.system == SystemType::kNone) {
    return Error::invalid("unknown type " + std::string(text));
  }
  return spec;
}

Result<std::unique_ptr<AstNode>> parse_expression(std::string_view text, CompileLimits limits) {
  if (text.size() > limits.max_length) {
    return Error::too_large("FHIRPath expression longer than " + std::to_string(limits.max_length) +
                            " characters");
  }
  auto tokens = Lexer(text).run();
  if (!tokens) return tokens.take_error();
  return Parser(std::move(*tokens), limits).parse();
}

}  // namespace cg::fhirpath
